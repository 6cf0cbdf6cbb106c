/**
 * --sink ring on a real kernel: kcrumb_ring.ko built for Debian's 6.1 headers with -Werror, the example
 * instrumented at every line with --sink ring and linked to it (KBUILD_EXTRA_SYMBOLS), both booted under
 * QEMU. The breadcrumbs print nothing while the machine runs; when the hang turns into a panic the module
 * prints its rings, and locate-freeze must name the same lines as with printk breadcrumbs, from the dump.
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildRing, type RingBuild } from '../../src/cli/ring-build.js';
import { kernelEnv } from '../support/kernel-env.js';
import { runCli } from '../support/run-cli.js';
import { assertCrashLocated, CRASH_SCENARIOS, type CrashAnswer } from './crash-scenarios.js';
import { assertFrozenAt, findMarkers, instrumentCopy, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, SLEEP_TO_PANIC, type ScenarioOptions } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-ring-'));
mkdirSync(WORK, { recursive: true });

let ring: Promise<RingBuild> | undefined;
const ringModule = () => (ring ??= buildRing({ kdir: kernelEnv().headers!, outDir: join(WORK, 'kcrumb-ring') }));

let instrumented: Promise<PreparedModule> | undefined;
/** examples/dm-remap instrumented at every line with --sink ring, built against the ring's symbols. */
function instrumentedModule(t: TestContext): Promise<PreparedModule> {
  instrumented ??= ringModule().then((built) =>
    prepareModule(
      WORK,
      'ring-instrumented',
      instrumentCopy(['--sink', 'ring', '--tag', 'kdem'], t),
      [`KBUILD_EXTRA_SYMBOLS=${built.symvers}`],
    ),
  );
  return instrumented;
}

interface Placed {
  file: string;
  line: number;
  function: string;
  fromDump: boolean;
}

interface RingAnswer {
  status: string;
  last: Placed & { cpu?: number; statement: string };
  ringDump: { reason: string; entries: number } | null;
  threads: { key: string; last: Placed }[];
  root: (Placed & { reason: string; cpu?: number; lock: { name: string } | null }) | null;
  waiting: (Placed & { cpu?: number; lock?: string; waitKind?: string; object?: string; heldBy: (Placed & { cpu?: number })[] })[];
}

async function locateJson<Answer = RingAnswer>(file: string, dir: string): Promise<{ code: number; answer: Answer }> {
  const json = await runCli(['locate-freeze', '--json', file], dir);
  return { code: json.code, answer: JSON.parse(json.stdout) as Answer };
}

async function bootAndLocate<Answer = RingAnswer>(t: TestContext, options: Omit<ScenarioOptions, 'moduleDir' | 'logDir'>) {
  const module = await instrumentedModule(t);
  const { ko } = await ringModule();
  const run = await runScenario({ moduleDir: module.dir, logDir: join(WORK, 'ring'), timeoutS: 120, firstModules: [ko], ...options });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  const log = readFileSync(run.serialLogPath, 'latin1');
  const text = await runCli(['locate-freeze', run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 8).join('\n'));
  const { answer } = await locateJson<Answer>(run.serialLogPath, module.dir);
  return { run, log, answer, text: text.stdout, module };
}

/** The entries of the first dump printed for `why` (`kdem#12@1 t=3.000000001`, no prefix). */
function dumpEntries(log: string, why: string): string[] {
  const at = log.indexOf(`kcrumb-ring: dump on ${why}:`);
  assert.ok(at >= 0, `a dump on ${why}`);
  const entries: string[] = [];
  for (const line of log.slice(at).split('\n').slice(1)) {
    const m = /kcrumb-ring: (kdem#\d+@\d+ t=\d+\.\d{9})\s*$/.exec(line);
    if (!m) break;
    entries.push(m[1]);
  }
  return entries;
}

/** The debugfs file's lines as the guest copied them to the console (guest/init's copy_ring). */
function debugfsCopy(log: string): string[] {
  const begin = log.indexOf('KCRUMB-DEBUGFS-BEGIN');
  const end = log.indexOf('KCRUMB-DEBUGFS-END');
  assert.ok(begin >= 0 && end > begin, 'the debugfs file was read');
  return log.slice(begin, end).split('\n').slice(1).map((l) => l.trimEnd()).filter((l) => l !== '');
}

const cpuOf = (entry: string) => Number(/@(\d+)/.exec(entry)![1]);
const at = (p: { file: string; line: number }) => `${p.file}:${p.line}`;

/** Breadcrumb lines printed live: with --sink ring there must be none outside the dump. */
const LIVE_CRUMB = /^(?:\[[^\]]*\] )?kdem#\d+@\d+$/m;

describe('--sink ring: examples/dm-remap under QEMU, located from the ring dump', { timeout: 15 * 60_000 }, () => {
  it('kcrumb_ring.ko builds with -Werror and the instrumented module depends on it (no rmmod while it is loaded)', async (t) => {
    if (!needQemu(t)) return;
    const module = await instrumentedModule(t);
    const depends = execFileSync('modinfo', ['-F', 'depends', module.ko], { encoding: 'utf8' }).trim().split(',');
    assert.ok(depends.includes('kcrumb_ring'), `dm-remap.ko depends on ${depends.join(', ')}`);
  });

  it('removing the device with one remap: the dump on panic names the marked teardown line', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(EXAMPLE_DIR, 'hangs here');
    const { run, log, answer, text } = await bootAndLocate(t, { scenario: 'remove', remaps: [1000] });
    assert.equal(run.exitedBy, 'panic');
    assert.match(log, /kcrumb_ring: 4096 entries per CPU/);
    assert.doesNotMatch(log, LIVE_CRUMB, 'no breadcrumb printed while the machine ran');
    assert.match(log, /kcrumb-ring: dump on panic: 2 CPUs/);
    assert.equal(answer.status, 'found');
    assert.equal(`${answer.last.file}:${answer.last.line}`, `${marker.file}:${marker.line}`);
    assert.equal(answer.last.function, 'remap_entry_flush');
    assert.equal(answer.last.fromDump, true);
    assert.equal(answer.ringDump?.reason, 'panic');
    assert.match(text, /from a kcrumb ring dump printed on panic/);
  });

  it('map hang on CPU 1: its trail from the dump ends at the marked line in remap_map', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(EXAMPLE_DIR, 'map hangs here');
    const { run, answer } = await bootAndLocate(t, { scenario: 'map-hang', hangSector: 2048 });
    assert.equal(run.exitedBy, 'panic');
    assertFrozenAt(answer, 'CPU1', marker);
    assert.equal(answer.last.fromDump, true);
  });

  it('on demand, in one boot: the debugfs file read in the guest names the last line run, SysRq-y prints the same entries, rmmod kcrumb_ring is refused', async (t) => {
    if (!needQemu(t)) return;
    const { run, log, answer, module } = await bootAndLocate(t, { scenario: 'ring-checks', remaps: [1000], name: 'ring-checks' });
    assert.equal(run.exitedBy, 'poweroff', 'nothing died: every dump here was asked for');
    assert.doesNotMatch(log, LIVE_CRUMB, 'no breadcrumb printed while the machine ran');

    const lines = debugfsCopy(log);
    assert.ok(lines.length > 64, `${lines.length} entries in the debugfs file`);
    for (const line of lines) assert.match(line, /^kdem#\d+@\d+ t=\d+\.\d{9}$/, 'the debugfs text is breadcrumb lines with their clock');
    const times = lines.map((l) => Number(l.split('t=')[1]));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order across CPUs');
    const debugfs = join(WORK, 'ring', 'ring-checks.debugfs.txt');
    writeFileSync(debugfs, lines.join('\n') + '\n');
    const fromFile = await locateJson(debugfs, module.dir);
    t.diagnostic(`debugfs: ${lines.length} entries; locate-freeze: ${fromFile.answer.status} ${at(fromFile.answer.last)} (${fromFile.answer.last.function})`);
    assert.equal(fromFile.code, 0);
    assert.equal(fromFile.answer.status, 'found');
    assert.equal(fromFile.answer.last.function, 'remap_end_io', 'the last code run before the read: the end of the last read');
    assert.match(fromFile.answer.last.statement, /^return DM_ENDIO_DONE;/);
    assert.equal(fromFile.answer.last.fromDump, true);

    // SysRq-y: the last `dump` (64) entries of each CPU, the same as the file's
    const sysrq = dumpEntries(log, 'sysrq');
    assert.ok(sysrq.length > 0, 'SysRq-y printed entries');
    for (const cpu of new Set(lines.map(cpuOf))) {
      const ofCpu = lines.filter((l) => cpuOf(l) === cpu);
      assert.deepEqual(sysrq.filter((e) => cpuOf(e) === cpu), ofCpu.slice(-64), `CPU ${cpu}: the dump holds the ring's last 64 entries`);
    }
    assert.equal(answer.ringDump?.reason, 'sysrq', 'locate-freeze on the serial log: the trail comes from the SysRq dump');
    assert.equal(`${answer.last.function} ${at(answer.last)}`, `${fromFile.answer.last.function} ${at(fromFile.answer.last)}`, 'the same last line as the file');

    // the module reference: kcrumb_ring stays while dm-remap links to it
    assert.match(log, /KCRUMB-RMMOD-REFUSED/);
    assert.match(log, /KCRUMB-RING-LOADED/);
  });

  it('hang-locked: both CPUs freeze silently; the NMI sent after the silence panics (unknown_nmi_panic) and the dump names the holder and the waiter', async (t) => {
    if (!needQemu(t)) return;
    const [holder] = findMarkers(EXAMPLE_DIR, 'holds the lock here');
    const { run, answer } = await bootAndLocate(t, { scenario: 'hang-locked', hangSector: 2048, nmi: { silenceS: 8, after: 'KCRUMB-WRITER-START' } });
    assert.ok(run.nmiAtMs !== undefined, 'the NMI was sent');
    assert.equal(run.exitedBy, 'panic', 'the NMI turned the silent freeze into a panic');
    assert.equal(answer.ringDump?.reason, 'panic');
    assert.equal(answer.last.cpu, 0, 'the last breadcrumb of all is the waiting CPU\'s');
    assert.equal(answer.last.function, 'remap_map');
    assert.match(answer.last.statement, /^spin_lock_irqsave\(&rc->lock, flags\);/);
    assert.ok(answer.root, 'a root');
    assert.equal(answer.root.reason, 'holds-lock-waited-by');
    assert.equal(at(answer.root), at(holder), 'the root is the holder\'s marked line');
    assert.equal(answer.root.lock?.name, 'rc->lock');
    assert.deepEqual(answer.waiting.find((w) => w.cpu === 0)?.heldBy.map((h) => h.cpu), [1], 'CPU 0 waits for CPU 1');
  });

  for (const [scenario, rootMark, waiterMark, waitKind] of [
    ['hang-sync', 'sync work waits here', 'teardown waits for the work here', 'work'],
    ['hang-sync-locked', 'locked sync work waits here', 'teardown waits for the mutex here', 'mutex'],
  ] as const) {
    it(`${scenario}: the hung-task panic's dump gives the work item's wait as the root and the destructor waiting for it`, async (t) => {
      if (!needQemu(t)) return;
      const [root] = findMarkers(EXAMPLE_DIR, rootMark);
      const [waiter] = findMarkers(EXAMPLE_DIR, waiterMark);
      const { run, answer } = await bootAndLocate(t, { scenario, fixed: true, remaps: [1000], hangSector: 2048, kernelArgs: SLEEP_TO_PANIC, timeoutS: 150 });
      assert.equal(run.exitedBy, 'panic', 'the hung-task detector panicked');
      assert.equal(answer.ringDump?.reason, 'panic');
      assert.ok(answer.root, 'a root');
      assert.equal(at(answer.root), at(root), 'the root is the work item\'s wait');
      assert.equal(answer.root.reason, 'waits-unsignalled');
      assert.equal(answer.root.fromDump, true);
      const waiting = answer.waiting.find((w) => at(w) === at(waiter));
      assert.ok(waiting, `the destructor is listed waiting (${answer.waiting.map(at).join(', ')})`);
      assert.equal(waiting.waitKind, waitKind);
    });
  }

  // An oops or BUG goes through die(): the die notifier prints the dump after the report (the kernel goes
  // on), and the report is tied to the entry its CPU recorded last before the report's time.
  for (const row of CRASH_SCENARIOS.filter((r) => r.death !== 'warning')) {
    it(`${row.scenario}: the dump on oops gives the printk run's answer (${row.title}, the marked line), the machine went on`, async (t) => {
      if (!needQemu(t)) return;
      const { run, log, answer, text } = await bootAndLocate<CrashAnswer>(t, { scenario: row.scenario, fixed: row.fixed, name: `ring-${row.scenario}` });
      assert.doesNotMatch(log, LIVE_CRUMB, 'no breadcrumb printed while the machine ran');
      assert.match(log, /kcrumb-ring: dump on oops: 2 CPUs/);
      assertCrashLocated(row, run, log, answer, text);
      assert.equal(answer.reports[0].lastCrumb?.fromDump, true, 'the breadcrumb came from the dump');
      assert.match(text, /from a kcrumb ring dump printed on oops/);
    });
  }

  // A WARNING is printed and the code goes on: no die(), no panic, so nothing prints the ring by itself.
  // Read on demand after it (the guest copies the debugfs file to the console), the ring's entries carry
  // their clock, and the warning is tied to the one its CPU recorded last before the warning's time.
  it('warn-map: no dump (a warning does not die); the debugfs file read after it gives the printk run\'s answer, the log without it no breadcrumb', async (t) => {
    if (!needQemu(t)) return;
    const row = CRASH_SCENARIOS.find((r) => r.death === 'warning')!;
    const { run, log, answer, text, module } = await bootAndLocate<CrashAnswer>(t, { scenario: row.scenario, name: `ring-${row.scenario}` });
    assert.doesNotMatch(log, LIVE_CRUMB, 'no breadcrumb printed while the machine ran');
    assert.doesNotMatch(log, /kcrumb-ring: dump on/, 'nothing printed the ring');
    t.diagnostic(`debugfs: ${debugfsCopy(log).length} entries read after the warning`);
    assertCrashLocated(row, run, log, answer, text);
    assert.equal(answer.reports[0].lastCrumb?.fromDump, true, 'the breadcrumb came from the debugfs copy');

    const beforeRead = join(WORK, 'ring', `ring-${row.scenario}.before-read.log`);
    writeFileSync(beforeRead, log.slice(0, log.indexOf('KCRUMB-DEBUGFS-BEGIN')));
    const unread = await locateJson<CrashAnswer>(beforeRead, module.dir);
    assert.equal(unread.answer.reports[0]?.title, row.title, 'the warning is still reported');
    assert.equal(unread.answer.reports[0].lastCrumb, null, 'without the read, the ring gave nothing');
  });
});
