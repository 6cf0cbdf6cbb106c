/**
 * Crashes of examples/dm-remap on Debian's 6.1 kernel under QEMU (test/kernel/crash-scenarios.ts): a NULL
 * dereference and a memset past its page in work items (oopses), WARN_ON_ONCE in remap_map, BUG_ON in
 * remap_dtr. The example is instrumented with the default selection at every line, as the captured logs
 * were; the machine goes on after each, and locate-freeze must say what the kernel reported (kind,
 * title), tie it to the last breadcrumb of the report's CPU, which is the marked line, and never call it
 * a freeze. With --ko, the guilty frame of an oops resolves to that same line.
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it); copies of them
 * are kept in examples/dm-remap/captured/ (scripts/capture-example-logs.sh).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { assertCrashLocated, CRASH_SCENARIOS, type CrashAnswer, type CrashScenario } from './crash-scenarios.js';
import { findMarkers, instrumentCopy, prepareModule, type PreparedModule } from './example.js';
import { EXAMPLE_DIR, needQemu, runScenario, type ScenarioResult } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-crash-'));
mkdirSync(WORK, { recursive: true });

let instrumented: Promise<PreparedModule> | undefined;
/**
 * examples/dm-remap, instrumented at every line with the captured logs' tag, built once. The kernel prints
 * __FILE__ in WARNING and BUG lines: -fmacro-prefix-map makes it the file's name, as in the kernel's own
 * files (and keeps the build folder's path out of the captured logs).
 */
function instrumentedModule(t: TestContext): Promise<PreparedModule> {
  const dir = join(WORK, 'crash-instrumented', 'dm-remap');
  instrumented ??= prepareModule(
    WORK,
    'crash-instrumented',
    instrumentCopy(['--level', 'every-line', '--tag', 'kdem'], t),
    [`KCFLAGS=-Werror -fmacro-prefix-map=${dir}/=`],
  );
  return instrumented;
}

const boots = new Map<string, Promise<{ run: ScenarioResult; module: PreparedModule }>>();
/** Boots the row's scenario once (the --ko check reads the same log again). */
function boot(t: TestContext, row: CrashScenario) {
  if (!boots.has(row.scenario)) {
    boots.set(
      row.scenario,
      instrumentedModule(t).then(async (module) => {
        const run = await runScenario({ moduleDir: module.dir, logDir: join(WORK, 'crash'), name: row.scenario, scenario: row.scenario, fixed: row.fixed, remaps: [1000], hangSector: 2048, timeoutS: 120 });
        t.diagnostic(`${run.exitedBy} after ${(run.ms / 1000).toFixed(1)} s; serial log: ${run.serialLogPath}`);
        return { run, module };
      }),
    );
  }
  return boots.get(row.scenario)!;
}

async function bootAndLocate(t: TestContext, row: CrashScenario, locateArgs: string[] = []) {
  const { run, module } = await boot(t, row);
  const log = readFileSync(run.serialLogPath, 'latin1');
  const text = await runCli(['locate-freeze', ...locateArgs, run.serialLogPath], module.dir);
  t.diagnostic(text.stdout.split('\n').slice(0, 10).join('\n'));
  const json = await runCli(['locate-freeze', '--json', ...locateArgs, run.serialLogPath], module.dir);
  assert.equal(json.code, 0, json.stderr);
  return { run, log, module, answer: JSON.parse(json.stdout) as CrashAnswer, text: text.stdout };
}

describe('crashes of examples/dm-remap under QEMU', { timeout: 15 * 60_000 }, () => {
  it('the example marks each faulting line once', () => {
    for (const row of CRASH_SCENARIOS) assert.equal(findMarkers(EXAMPLE_DIR, row.marker).length, 1, `one "kcrumb-test: ${row.marker}" marker`);
  });

  for (const row of CRASH_SCENARIOS) {
    it(`${row.scenario}: ${row.title}, tied to the marked line, the machine went on`, async (t) => {
      if (!needQemu(t)) return;
      const { run, log, answer, text } = await bootAndLocate(t, row);
      assertCrashLocated(row, run, log, answer, text);
    });
  }

  it('oops-page with --ko: the guilty frame resolves to the marked line, the same as the last breadcrumb', async (t) => {
    if (!needQemu(t)) return;
    const row = CRASH_SCENARIOS.find((r) => r.scenario === 'oops-page')!;
    const [marker] = findMarkers(EXAMPLE_DIR, row.marker);
    const module = await instrumentedModule(t);
    const { answer, text } = await bootAndLocate(t, row, ['--ko', module.ko]);
    const guilty = answer.reports[0].guilty;
    assert.ok(guilty, 'a guilty frame');
    assert.equal(guilty.function, row.function);
    assert.equal(guilty.module, 'dm_remap');
    assert.ok(guilty.file?.endsWith(`/${marker.file}`), `resolved into ${marker.file}: ${guilty.file}`);
    assert.equal(guilty.line, marker.line, 'addr2line names the marked line');
    assert.match(text, new RegExp(`guilty frame: .*${row.function}.* at \\S*${marker.file}:${marker.line}: the same line as breadcrumb #\\d+`));
  });
});
