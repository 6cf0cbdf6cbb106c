/**
 * The second bundled example, examples/blk-stall (a blk-mq disk of our own: queue_rq copies the data, an
 * hrtimer completes the request through blk_mq_complete_request and .complete), on Debian's 6.1 kernel
 * under QEMU: kcrumb's default selection starts from its struct blk_mq_ops, the instrumented driver
 * builds with -Werror and moves data correctly, and with drain_on_flush=1 a flush freezes its CPU in
 * queue_rq (dev->lock taken twice with interrupts off): `kcrumb locate-freeze` must name the line the
 * example marks with `kcrumb-test: flush hangs here`, its function, the self-deadlock and the kernel's
 * report of the freeze.
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it). Without the
 * kernel environment the tests skip, saying what is missing; under CI=true they fail instead.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { findMarkers, instrumentCopy, prepareModule, type PreparedModule } from './example.js';
import { BLK_STALL, needQemu, runScenario, type ScenarioName } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-blk-'));
mkdirSync(WORK, { recursive: true });
/** The tag of examples/blk-stall/captured/flush-stall.serial.log: the same run, reproduced. */
export const BLK_TAG = 'kblk';
/** 4 KiB blocks written and read back: every breadcrumb goes out on a 115200-baud console. */
const BLOCKS = 32;

let instrumented: Promise<PreparedModule> | undefined;
let report = '';
/** examples/blk-stall, instrumented by kcrumb (default selection, every line) and built once. */
function instrumentedModule(t: TestContext): Promise<PreparedModule> {
  const transform = instrumentCopy(['--level', 'every-line', '--tag', BLK_TAG], t, (stdout) => (report = stdout));
  instrumented ??= prepareModule(WORK, 'blk-instrumented', transform, undefined, BLK_STALL.dir);
  return instrumented;
}

interface LocateJson {
  status: string;
  last: { file: string; line: number; function: string; cpu?: number; statement: string };
  root: { reason: string; cpu: number; file: string; line: number; function: string; lock: { name: string } | null } | null;
  death: { kind: string; death: string; title: string; freeze: boolean } | null;
}

async function bootAndLocate(t: TestContext, scenario: ScenarioName) {
  const module = await instrumentedModule(t);
  const run = await runScenario({ moduleDir: module.dir, example: BLK_STALL, scenario, ddBlocks: BLOCKS, logDir: join(WORK, 'blk-instrumented'), timeoutS: 120 });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  const text = await runCli(['locate-freeze', run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 14).join('\n'));
  const json = await runCli(['locate-freeze', '--json', run.serialLogPath], module.dir);
  const log = readFileSync(run.serialLogPath, 'latin1');
  return { run, log, code: json.code, answer: JSON.parse(json.stdout) as LocateJson, text: text.stdout };
}

describe('kcrumb on examples/blk-stall under QEMU', { timeout: 15 * 60_000 }, () => {
  it('the example marks the line the flush hangs on, in the completion path queue_rq calls', () => {
    const markers = findMarkers(BLK_STALL.dir, 'flush hangs here');
    assert.equal(markers.length, 1, 'one "kcrumb-test: flush hangs here" marker');
    assert.equal(markers[0].file, 'blk-stall.c');
    assert.match(markers[0].text, /^spin_lock_irqsave\(&dev->lock, flags\);/);
  });

  it('the default selection starts from struct blk_mq_ops and says so', async (t) => {
    if (!needQemu(t)) return;
    await instrumentedModule(t);
    for (const [fn, why] of [
      ['blkst_queue_rq', '.queue_rq = blkst_queue_rq'],
      ['blkst_complete', '.complete = blkst_complete'],
      ['blkst_timeout', '.timeout = blkst_timeout'],
      ['blkst_complete_pending', '.queue_rq = blkst_queue_rq -> blkst_complete_pending'],
      ['blkst_timer_fn', 'hrtimer_start(timer) -> blkst_timer_fn'],
    ]) {
      const line = report.split('\n').find((l) => new RegExp(`blk-stall\\.c:\\d+\\s+${fn}\\s`).test(l));
      assert.ok(line, `${fn} selected, in:\n${report}`);
      assert.ok(line.includes('struct blk_mq_ops blkst_mq_ops: '), `${fn}'s reason names the ops struct: ${line}`);
      assert.ok(line.includes(why), `${fn}'s reason: ${line}`);
    }
    assert.doesNotMatch(report, /blkst_init|blkst_add_disk|blkst_exit/, 'module set-up and teardown are not on the I/O path');
  });

  it('the driver and its instrumented copy build with -Werror and no warning', async (t) => {
    if (!needQemu(t)) return;
    await prepareModule(WORK, 'blk-original', undefined, undefined, BLK_STALL.dir);
    const { ko } = await instrumentedModule(t);
    for (const variant of ['blk-original', 'blk-instrumented']) {
      const log = readFileSync(join(WORK, variant, 'module-build.log'), 'utf8');
      assert.match(log, /LD \[M\]\s+\S*blk-stall\.ko/, variant);
      assert.doesNotMatch(log, /warning:|error:/, variant);
    }
    t.diagnostic(`built ${ko}`);
  });

  it('I/O through the instrumented driver: the data reads back, a flush completes, the machine powers off', async (t) => {
    if (!needQemu(t)) return;
    const { run, log, answer } = await bootAndLocate(t, 'io');
    assert.equal(run.exitedBy, 'poweroff', 'no freeze: the breadcrumbs did not change what the driver does');
    assert.match(log, /KCRUMB-MODULES drain_on_flush=N/);
    assert.match(log, new RegExp(`KCRUMB-IO-OK blocks=${BLOCKS} `), 'the blocks written read back the same');
    assert.match(log, /KCRUMB-FLUSH-START[\s\S]*KCRUMB-FLUSHED[\s\S]*KCRUMB-REMOVED[\s\S]*KCRUMB-DONE/);
    assert.match(log, new RegExp(`blk-stall: blkst0 removed after \\d+ requests`));
    assert.doesNotMatch(log, /KCRUMB-IO-BAD|KCRUMB-FAIL|timed out/);
    assert.equal(answer.status, 'found');
    assert.equal(answer.death, null, 'the kernel reported nothing');
    t.diagnostic(`clean run: last breadcrumb ${answer.last.function}, root ${answer.root?.reason ?? 'none'}`);
  });

  it('flush with drain_on_flush=1: locate-freeze names the marked line, its function, the self-deadlock and the kernel\'s report', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(BLK_STALL.dir, 'flush hangs here');
    const { run, log, code, answer, text } = await bootAndLocate(t, 'flush-stall');
    assert.equal(run.exitedBy, 'panic', 'the freeze happened and was turned into a panic');
    assert.match(log, /KCRUMB-MODULES drain_on_flush=Y/);
    assert.match(log, /KCRUMB-IO-OK/, 'I/O worked before the flush');
    assert.doesNotMatch(log.slice(log.indexOf('KCRUMB-FLUSH-START')), /KCRUMB-FLUSHED/, 'the flush never returned');
    assert.equal(code, 0);
    assert.equal(answer.status, 'found');
    assert.equal(`${answer.last.file}:${answer.last.line}`, `${marker.file}:${marker.line}`, 'the line that froze');
    assert.equal(answer.last.function, 'blkst_complete_pending');
    assert.ok(answer.root, 'a root');
    assert.equal(answer.root.reason, 'self-deadlock');
    assert.equal(`${answer.root.file}:${answer.root.line}`, `${marker.file}:${marker.line}`);
    assert.equal(answer.root.lock?.name, 'dev->lock');
    assert.equal(answer.root.cpu, answer.last.cpu, 'the CPU that froze is the one that holds the lock');
    // the kernel's own report of the freeze, as the log says it
    const reported = /rcu: INFO: rcu_\w+ (?:self-)?detected stalls?/.test(log) ? 'rcu-stall' : /BUG: soft lockup/.test(log) ? 'soft-lockup' : 'none';
    assert.notEqual(reported, 'none', 'the kernel reported an RCU stall or a soft lockup');
    assert.ok(answer.death, 'a report ended the run');
    assert.equal(answer.death.kind, reported);
    assert.equal(answer.death.freeze, true);
    assert.match(text.split('\n')[0], new RegExp(`^${marker.file}:${marker.line}:\\d+: note: .*#\\d+ \\(blkst_complete_pending\\)`));
    assert.match(text, /self-deadlock/);
  });
});
