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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildRing, type RingBuild } from '../../src/cli/ring-build.js';
import { kernelEnv } from '../support/kernel-env.js';
import { runCli } from '../support/run-cli.js';
import { assertFrozenAt, findMarkers, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, type ScenarioOptions } from './qemu.js';

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
      async (dir) => {
        const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort();
        const run = await runCli(['instrument', '--sink', 'ring', '--tag', 'kdem', ...sources], dir);
        assert.equal(run.code, 0, run.stderr);
        t.diagnostic(run.stdout.split('\n').slice(-3).join('\n'));
      },
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

async function bootAndLocate(t: TestContext, options: Omit<ScenarioOptions, 'moduleDir' | 'logDir'>) {
  const module = await instrumentedModule(t);
  const { ko } = await ringModule();
  const run = await runScenario({ moduleDir: module.dir, logDir: join(WORK, 'ring'), timeoutS: 120, firstModules: [ko], ...options });
  t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
  const log = readFileSync(run.serialLogPath, 'latin1');
  const text = await runCli(['locate-freeze', run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 8).join('\n'));
  const json = await runCli(['locate-freeze', '--json', run.serialLogPath], module.dir);
  const answer = JSON.parse(json.stdout) as {
    status: string;
    last: Placed;
    ringDump: { reason: string; entries: number } | null;
    threads: { key: string; last: Placed }[];
  };
  return { run, log, answer, text: text.stdout };
}

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
});
