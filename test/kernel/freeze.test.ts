/**
 * examples/dm-remap on Debian's 6.1 kernel under QEMU (TCG, 2 CPUs), serial console captured to a file:
 * - removing the device with one remap freezes the machine in the teardown metadata sync (a spinlock
 *   taken twice with interrupts off), and the kernel's RCU stall report names remap_sync_metadata;
 * - with fixed=1, or with no remap, the removal completes and the machine powers off;
 * - map-hang: CPU 1 freezes in remap_map while CPU 0 goes on running `dmsetup status`.
 * (hang-locked, where both CPUs freeze and nothing reports it, is booted by locate-freeze.test.ts.)
 *
 * Run: node --import tsx --test test/kernel/freeze.test.ts (after scripts/kernel-env.sh). The logs go to
 * $KCRUMB_KERNEL_LOGS or a fresh temp folder, printed as a diagnostic. Without the kernel environment
 * the tests skip, saying what is missing; under CI=true they fail instead.
 *
 * Extending with kcrumb: prepareModule(work, 'instrumented', (dir) => instrument dir) builds an
 * instrumented copy; runScenario({ moduleDir: that.dir, ... }) boots it; findMarkers(dir, 'hangs here')
 * gives the file:line locate-freeze must name.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findMarkers, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, type ScenarioOptions } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-kernel-'));
mkdirSync(WORK, { recursive: true });
const BOOT_TIMEOUT_S = 90;

let original: Promise<PreparedModule> | undefined;
/** examples/dm-remap copied and built once for all tests. */
const originalModule = () => (original ??= prepareModule(WORK, 'original'));

/** Boots one scenario of the original module; returns the serial log text after reporting where it is. */
async function boot(t: TestContext, options: Omit<ScenarioOptions, 'moduleDir' | 'logDir'>) {
  const { dir } = await originalModule();
  const run = await runScenario({ moduleDir: dir, logDir: join(WORK, 'original'), timeoutS: BOOT_TIMEOUT_S, ...options });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  return { ...run, log: readFileSync(run.serialLogPath, 'latin1') };
}

/** The log from the first line holding `marker` on; fails when there is none. */
function after(log: string, marker: string): string {
  const at = log.indexOf(marker);
  assert.ok(at >= 0, `no ${marker} in the serial log`);
  return log.slice(at);
}

/** A lockup report: RCU stall or soft lockup. */
const STALL = /rcu: INFO: rcu_\w+ (?:self-)?detected stalls?|watchdog: BUG: soft lockup/;
const frame = (fn: string) => new RegExp(`\\b${fn}\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[dm_remap\\]`);

describe('dm-remap on Debian 6.1 under QEMU', { timeout: 10 * 60_000 }, () => {
  it('the example marks the lines that hang', () => {
    const teardown = findMarkers(EXAMPLE_DIR, 'hangs here');
    assert.equal(teardown.length, 1, 'one "kcrumb-test: hangs here" marker');
    assert.equal(teardown[0].file, 'dm-remap-metadata.c');
    assert.match(teardown[0].text, /spin_lock_irqsave\(&rc->lock, flags\)/);
    const map = findMarkers(EXAMPLE_DIR, 'map hangs here');
    assert.equal(map.length, 1, 'one "kcrumb-test: map hangs here" marker');
    assert.equal(map[0].file, 'dm-remap-target.c');
    const held = findMarkers(EXAMPLE_DIR, 'holds the lock here');
    assert.equal(held.length, 1, 'one "kcrumb-test: holds the lock here" marker');
    assert.match(held[0].text, /spin_until_cond/, 'a spin on one statement: a loop body would print a breadcrumb per pass');
  });

  it('builds against the headers with -Werror -Wdeclaration-after-statement', async (t) => {
    if (!needQemu(t)) return;
    const { ko } = await originalModule();
    t.diagnostic(`built ${ko}`);
  });

  it('removing the device with one remap freezes in the teardown metadata sync', async (t) => {
    if (!needQemu(t)) return;
    const run = await boot(t, { scenario: 'remove', remaps: [1000] });
    assert.equal(run.exitedBy, 'panic', 'the hang is detected and turned into a panic');
    assert.match(run.log, /KCRUMB-REMAP-OK 1000/);
    const hang = after(run.log, 'KCRUMB-REMOVE-START remaps=1');
    assert.match(hang, STALL);
    assert.match(hang, frame('remap_sync_metadata'), 'the stuck CPU is in remap_sync_metadata');
    assert.match(hang, /dm_table_presuspend_targets/, 'called from presuspend');
    assert.doesNotMatch(run.log, /KCRUMB-REMOVED/);
  });

  it('with fixed=1 the removal completes and the machine powers off', async (t) => {
    if (!needQemu(t)) return;
    const run = await boot(t, { scenario: 'remove', remaps: [1000], fixed: true });
    assert.equal(run.exitedBy, 'poweroff');
    assert.match(run.log, /KCRUMB-MODULES fixed=Y/);
    assert.match(run.log, /KCRUMB-REMAP-OK 1000/);
    for (const why of ['presuspend', 'postsuspend', 'teardown']) assert.match(run.log, new RegExp(`metadata synced on ${why}: 1 remaps`));
    assert.match(after(run.log, 'KCRUMB-REMOVE-START'), /KCRUMB-REMOVED[\s\S]*KCRUMB-DONE/);
    assert.doesNotMatch(run.log, STALL);
  });

  it('with the bug but no remap the removal completes', async (t) => {
    if (!needQemu(t)) return;
    const run = await boot(t, { scenario: 'remove', remaps: [], name: 'remove-no-remap' });
    assert.equal(run.exitedBy, 'poweroff');
    assert.match(run.log, /KCRUMB-MODULES fixed=N/);
    assert.match(run.log, /metadata synced on teardown: 0 remaps/);
    assert.match(run.log, /KCRUMB-DONE/);
  });

  it('map-hang: CPU 1 freezes in remap_map while CPU 0 goes on', async (t) => {
    if (!needQemu(t)) return;
    const run = await boot(t, { scenario: 'map-hang', hangSector: 2048 });
    assert.equal(run.exitedBy, 'panic');
    const hang = after(run.log, 'KCRUMB-MAP-HANG-START');
    assert.match(hang, /KCRUMB-ALIVE 2 cpu0/, 'CPU 0 keeps running dmsetup status');
    assert.match(hang, STALL);
    assert.match(hang, /NMI backtrace for cpu 1[\s\S]*RIP: 0010:remap_map\+/, 'CPU 1 is stuck in remap_map');
    assert.doesNotMatch(hang, /KCRUMB-NOT-HUNG/);
  });
});
