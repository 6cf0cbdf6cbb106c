/**
 * Sleeping hangs of examples/dm-remap on Debian's 6.1 kernel under QEMU, with the hung-task detector on
 * (3 s, hung_task_panic): no CPU spins, two tasks sleep in D state and the kernel reports both.
 * - hang-sync: with one remap, a read queues the metadata work item, which sleeps in
 *   wait_for_completion(&rc->copy_done) that nothing signals; `dmsetup remove` then sleeps in the
 *   destructor's flush_work(&rc->sync_work).
 * - hang-sync-locked: the work item sleeps in wait_event() holding rc->sync_mutex; the destructor sleeps
 *   in mutex_lock(&rc->sync_mutex).
 * Each is booted twice, instrumented without and with --task-id. locate-freeze must answer: the root is
 * the work item's wait line, the destructor's line is listed waiting for it, and each hung-task report
 * belongs to the trail of the task it names.
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it); copies of them
 * are kept in examples/dm-remap/captured/ for the format tests.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { findMarkers, instrumentCopy, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, SLEEP_TO_PANIC, type ScenarioName } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-sleep-'));
mkdirSync(WORK, { recursive: true });

/** The captured logs' tags: the plain run and the --task-id run. */
export const SLEEP_TAGS = { plain: 'kdem', taskId: 'kdet' } as const;

const modules = new Map<string, Promise<PreparedModule>>();
function instrumentedModule(t: TestContext, taskId: boolean): Promise<PreparedModule> {
  const tag = taskId ? SLEEP_TAGS.taskId : SLEEP_TAGS.plain;
  if (!modules.has(tag)) {
    modules.set(
      tag,
      prepareModule(WORK, `instrumented-${tag}`, instrumentCopy(['--level', 'every-line', '--tag', tag, ...(taskId ? ['--task-id'] : [])], t)),
    );
  }
  return modules.get(tag)!;
}

interface Place {
  file: string;
  line: number;
  function: string;
}
interface LocateJson {
  status: string;
  headline: string;
  root: (Place & { reason: string; thread: string; waitsFor: { kind: string; object: string } | null }) | null;
  waiting: (Place & { thread: string; waitKind: string; object: string; heldBy: (Place & { task: string })[] })[];
  tasks: { key: string; name: string | null; last: Place; reports: string[] }[];
}

async function bootAndLocate(t: TestContext, scenario: ScenarioName, taskId: boolean) {
  const module = await instrumentedModule(t, taskId);
  const name = `${scenario}${taskId ? '-task-id' : ''}`;
  const run = await runScenario({ moduleDir: module.dir, logDir: join(WORK, 'logs'), name, scenario, fixed: true, remaps: [1000], hangSector: 2048, kernelArgs: SLEEP_TO_PANIC, timeoutS: 150 });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  const log = readFileSync(run.serialLogPath, 'latin1');
  const text = await runCli(['locate-freeze', run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 16).join('\n'));
  const json = await runCli(['locate-freeze', '--json', run.serialLogPath], module.dir);
  return { run, log, code: json.code, answer: JSON.parse(json.stdout) as LocateJson, text: text.stdout };
}

const at = (p: { file: string; line: number }) => `${p.file}:${p.line}`;

/**
 * The tasks the hung-task detector reported: the work item always (it sleeps first); the destructor too
 * when it was already asleep at the check before the one that panicked (most boots, not all: it falls
 * asleep a moment later, and one check may fall in between).
 */
function reported(t: TestContext, log: string): string[] {
  const hung = [...log.matchAll(HUNG)].map((m) => m[1]);
  assert.ok(hung.some((task) => task.startsWith('kworker')), `a kworker reported blocked (${hung.join(', ')})`);
  if (!hung.includes('dmsetup')) t.diagnostic(`only ${hung.join(', ')} reported: dmsetup fell asleep after the detector's check before last`);
  return hung;
}
const HUNG = /INFO: task (\S+):(\d+) blocked for more than \d+ seconds/g;

describe('sleeping hangs of examples/dm-remap under QEMU', { timeout: 20 * 60_000 }, () => {
  it('the example marks the waits', () => {
    for (const what of ['sync work waits here', 'locked sync work waits here', 'teardown waits for the work here', 'teardown waits for the mutex here']) {
      assert.equal(findMarkers(EXAMPLE_DIR, what).length, 1, `one "kcrumb-test: ${what}" marker`);
    }
  });

  for (const taskId of [false, true]) {
    const variant = taskId ? ' (--task-id)' : '';
    it(`hang-sync${variant}: the work item's wait_for_completion is the root, the destructor's flush_work waits for it`, async (t) => {
      if (!needQemu(t)) return;
      const [work] = findMarkers(EXAMPLE_DIR, 'sync work waits here');
      const [flush] = findMarkers(EXAMPLE_DIR, 'teardown waits for the work here');
      const { run, log, answer, text } = await bootAndLocate(t, 'hang-sync', taskId);
      assert.equal(run.exitedBy, 'panic', 'the hung-task detector panicked');
      const hung = reported(t, log);
      assert.doesNotMatch(log, /KCRUMB-REMOVED/);
      assert.ok(answer.root, 'a root');
      assert.equal(at(answer.root), at(work), 'the root is the work item\'s wait');
      assert.equal(answer.root.function, 'remap_sync_after_copy');
      assert.equal(answer.root.reason, 'waits-unsignalled');
      const waiter = answer.waiting.find((w) => at(w) === at(flush));
      assert.ok(waiter, `the destructor's flush_work is listed waiting (${answer.waiting.map(at).join(', ')})`);
      assert.equal(waiter.waitKind, 'work');
      assert.equal(waiter.object, 'rc->sync_work');
      assert.deepEqual(waiter.heldBy.map(at), [at(work)], 'held up by the work item');
      assert.match(text.split('\n')[0], new RegExp(`^${work.file}:${work.line}:\\d+: note: .*\\(waits-unsignalled\\)`), 'the first line names the root');
      assert.deepEqual(answer.root.waitsFor, { kind: 'completion', call: 'wait_for_completion', object: 'rc->copy_done' });
      const dtr = answer.tasks.find((task) => at(task.last) === at(flush));
      if (hung.includes('dmsetup')) assert.ok(dtr?.reports.some((r) => r.includes('dmsetup')), 'dmsetup\'s hung-task report is tied to the destructor\'s trail');
      const worker = answer.tasks.find((task) => at(task.last) === at(work));
      assert.ok(worker?.reports.some((r) => r.includes('kworker')), 'the kworker\'s report is tied to the work item\'s trail');
    });

    it(`hang-sync-locked${variant}: the work item's wait_event is the root, the destructor waits for the mutex it holds`, async (t) => {
      if (!needQemu(t)) return;
      const [work] = findMarkers(EXAMPLE_DIR, 'locked sync work waits here');
      const [lock] = findMarkers(EXAMPLE_DIR, 'teardown waits for the mutex here');
      const { run, log, answer } = await bootAndLocate(t, 'hang-sync-locked', taskId);
      assert.equal(run.exitedBy, 'panic', 'the hung-task detector panicked');
      reported(t, log);
      assert.ok(answer.root, 'a root');
      assert.equal(at(answer.root), at(work), 'the root is the work item\'s wait');
      assert.equal(answer.root.reason, 'waits-unsignalled');
      const waiter = answer.waiting.find((w) => at(w) === at(lock));
      assert.ok(waiter, `the destructor's mutex_lock is listed waiting (${answer.waiting.map(at).join(', ')})`);
      assert.equal(waiter.waitKind, 'mutex');
      assert.equal(waiter.object, 'rc->sync_mutex');
      assert.deepEqual(waiter.heldBy.map((h) => h.function), ['remap_sync_locked_after_copy'], 'held by the work item');
      assert.equal(answer.root.waitsFor?.kind, 'waitqueue');
      const worker = answer.tasks.find((task) => at(task.last) === at(work));
      assert.ok(worker?.reports.some((r) => r.includes('kworker')), 'the kworker\'s report is tied to the work item\'s trail');
    });
  }
});
