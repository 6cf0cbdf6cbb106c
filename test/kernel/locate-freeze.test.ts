/**
 * The product's claim, on a real kernel: instrument examples/dm-remap with kcrumb's default selection at
 * every line, build it against Debian's 6.1 headers with -Werror, boot it under QEMU with the serial
 * console captured, freeze it, and `kcrumb locate-freeze` must name the line the example marks with
 * `kcrumb-test: hangs here`. Then strip must give back the example byte for byte.
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { assertFrozenAt, findMarkers, instrumentCopy, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, type ScenarioOptions } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-e2e-'));
mkdirSync(WORK, { recursive: true });
/** The tag of the bundled demo log (examples/dm-remap/captured/): the same run, reproduced. */
export const DEMO_TAG = 'kdem';

let instrumented: Promise<PreparedModule> | undefined;
/** examples/dm-remap, instrumented by kcrumb (default selection, every line) and built once. */
function instrumentedModule(t: TestContext): Promise<PreparedModule> {
  instrumented ??= prepareModule(WORK, 'instrumented', instrumentCopy(['--level', 'every-line', '--tag', DEMO_TAG], t));
  return instrumented;
}

interface LocateJson {
  status: string;
  last: { file: string; line: number; column: number; function: string; cpu?: number; statement: string };
  root: { reason: string; cpu: number; file: string; line: number; function: string; lock: { name: string } | null } | null;
  waiting: { cpu: number; lock: string; function: string; heldBy: { cpu: number; file: string; line: number }[] }[];
  threads: { key: string; last: { file: string; line: number; function: string } }[];
  next: { file: string; line: number }[];
  lockups?: unknown[];
}

async function bootAndLocate(t: TestContext, options: Omit<ScenarioOptions, 'moduleDir' | 'logDir'>) {
  const module = await instrumentedModule(t);
  const run = await runScenario({ moduleDir: module.dir, logDir: join(WORK, 'instrumented'), timeoutS: 120, ...options });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  const text = await runCli(['locate-freeze', run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 12).join('\n'));
  const json = await runCli(['locate-freeze', '--json', run.serialLogPath], module.dir);
  return { run, module, code: json.code, answer: JSON.parse(json.stdout) as LocateJson, text: text.stdout };
}

describe('kcrumb on examples/dm-remap under QEMU', { timeout: 15 * 60_000 }, () => {
  it('removing the device with one remap: locate-freeze names the marked teardown line', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(EXAMPLE_DIR, 'hangs here');
    const { run, code, answer, text } = await bootAndLocate(t, { scenario: 'remove', remaps: [1000] });
    assert.equal(run.exitedBy, 'panic', 'the freeze happened and was turned into a panic');
    assert.equal(code, 0);
    assert.equal(answer.status, 'found');
    assert.equal(`${answer.last.file}:${answer.last.line}`, `${marker.file}:${marker.line}`, 'the line that froze');
    assert.equal(answer.last.function, 'remap_entry_flush');
    assert.match(text.split('\n')[0], new RegExp(`^${marker.file}:${marker.line}:\\d+: note: last breadcrumb #\\d+ \\(remap_entry_flush\\)`));
  });

  it('with fixed=1 the instrumented module removes cleanly', async (t) => {
    if (!needQemu(t)) return;
    const { run, answer } = await bootAndLocate(t, { scenario: 'remove', remaps: [1000], fixed: true });
    assert.equal(run.exitedBy, 'poweroff', 'no freeze: the breadcrumbs did not change what the module does');
    assert.match(readFileSync(run.serialLogPath, 'latin1'), /KCRUMB-REMOVED[\s\S]*KCRUMB-DONE/);
    assert.equal(answer.status, 'found');
    assert.equal(answer.last.function, 'remap_dtr', 'the last breadcrumb is the end of the destructor');
  });

  it('map hang on CPU 1: its own trail ends at the marked line in remap_map', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(EXAMPLE_DIR, 'map hangs here');
    const { run, answer } = await bootAndLocate(t, { scenario: 'map-hang', hangSector: 2048 });
    assert.equal(run.exitedBy, 'panic');
    assertFrozenAt(answer, 'CPU1', marker);
  });

  it('hang-locked: CPU 1 keeps the lock, CPU 0 freezes waiting for it; the root is CPU 1\'s line, the last breadcrumb CPU 0\'s', async (t) => {
    if (!needQemu(t)) return;
    const [holder] = findMarkers(EXAMPLE_DIR, 'holds the lock here');
    // both CPUs spin with interrupts off and TCG has no PMU: nothing reports it, QEMU is killed at the timeout
    const { run, code, answer, text } = await bootAndLocate(t, { scenario: 'hang-locked', hangSector: 2048, timeoutS: 40 });
    const log = readFileSync(run.serialLogPath, 'latin1');
    assert.match(log, /KCRUMB-WRITER-START/, 'CPU 0 started writing after CPU 1 took the lock');
    assert.doesNotMatch(log, /KCRUMB-NOT-HUNG|Kernel panic/, 'both CPUs froze before anything could report it');
    assert.equal(run.exitedBy, 'timeout');
    assert.equal(code, 0);
    assert.equal(answer.last.cpu, 0, 'the last breadcrumb of all is the waiting CPU\'s');
    assert.equal(answer.last.function, 'remap_map');
    assert.match(answer.last.statement, /^spin_lock_irqsave\(&rc->lock, flags\);/);
    assert.ok(answer.root, 'a root');
    assert.equal(answer.root.reason, 'holds-lock-waited-by');
    assert.equal(answer.root.cpu, 1);
    assert.equal(`${answer.root.file}:${answer.root.line}`, `${holder.file}:${holder.line}`, 'the root is the holder\'s marked line');
    assert.equal(answer.root.function, 'remap_hold_lock');
    assert.equal(answer.root.lock?.name, 'rc->lock');
    const waiter = answer.waiting.find((w) => w.cpu === 0);
    assert.ok(waiter, 'CPU 0 is listed as waiting');
    assert.equal(waiter.lock, 'rc->lock');
    assert.deepEqual(waiter.heldBy.map((h) => h.cpu), [1]);
    assert.match(text.split('\n')[0], new RegExp(`^${holder.file}:${holder.line}:\\d+: note: root of the freeze`));
  });

  it('strip gives back the example byte for byte', async (t) => {
    if (!needQemu(t)) return;
    const { dir } = await instrumentedModule(t);
    const run = await runCli(['strip'], dir);
    assert.equal(run.code, 0, run.stderr);
    for (const file of readdirSync(EXAMPLE_DIR).filter((f) => /\.[ch]$/.test(f))) {
      assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(EXAMPLE_DIR, file))), `${file} differs from the example`);
    }
  });
});
