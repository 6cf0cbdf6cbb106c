/**
 * The crash scenarios of examples/dm-remap, one row each: how the guest triggers it (test/kernel/guest/init),
 * the serial log kept in examples/dm-remap/captured/, and what locate-freeze must answer. The machine goes
 * on after every one of them: no panic, init powers off. test/kernel/crash.test.ts boots them with printk
 * breadcrumbs, test/kernel/ring.test.ts with --sink ring (from the dump the die notifier prints);
 * test/locate/captured-logs.test.ts reads their captured logs in every format.
 */
import assert from 'node:assert/strict';
import { findMarkers } from './example.js';
import { EXAMPLE_DIR, type ScenarioName, type ScenarioResult } from './qemu.js';

export interface CrashScenario {
  scenario: ScenarioName;
  /** File name in examples/dm-remap/captured/. */
  captured: string;
  /** The `kcrumb-test: <what>` marker of the faulting line. */
  marker: string;
  /** The function of that line, and the guilty function of the report's title. */
  function: string;
  /** reports[0].kind and .death of locate-freeze --json. */
  kind: string;
  death: 'oops' | 'bug' | 'warning';
  title: string;
  /** Load dm-remap with fixed=1 (the destructor must get past the teardown double lock). */
  fixed?: boolean;
  /** What init printed after the crash: the machine went on. */
  after: RegExp;
}

export const CRASH_SCENARIOS: readonly CrashScenario[] = [
  {
    scenario: 'oops-null',
    captured: 'oops-null.serial.log',
    marker: 'null dereference here',
    function: 'remap_copy_done_work',
    kind: 'null-deref',
    death: 'oops',
    title: 'BUG: unable to handle kernel NULL pointer dereference in remap_copy_done_work',
    after: /KCRUMB-ALIVE after oops_null/,
  },
  {
    scenario: 'oops-page',
    captured: 'oops-page.serial.log',
    marker: 'memset past the page here',
    function: 'remap_table_copy_work',
    kind: 'page-fault',
    death: 'oops',
    title: 'BUG: unable to handle kernel paging request in remap_table_copy_work',
    after: /KCRUMB-ALIVE after oops_page/,
  },
  {
    scenario: 'warn-map',
    captured: 'warn-map.serial.log',
    marker: 'map warns here',
    function: 'remap_map',
    kind: 'warning',
    death: 'warning',
    title: 'WARNING in remap_map',
    after: /KCRUMB-IO-AFTER-WARN-OK/,
  },
  {
    scenario: 'bug-dtr',
    captured: 'bug-dtr.serial.log',
    marker: 'teardown BUG here',
    function: 'remap_dtr',
    kind: 'kernel-bug',
    death: 'bug',
    title: 'kernel BUG in remap_dtr',
    fixed: true,
    after: /KCRUMB-REMOVE-DIED/,
  },
];

interface Place {
  file: string;
  line: number;
  function: string;
  cpu?: number;
}
interface Frame {
  function: string;
  module: string | null;
  file: string | null;
  line: number | null;
}
/** What locate-freeze --json says of a crash. */
export interface CrashAnswer {
  status: string;
  reports: { kind: string; death: string; title: string; cpu: number | null; guilty: Frame | null; lastCrumb: (Place & { fromDump?: boolean }) | null; panicked: boolean }[];
  death: { kind: string; death: string; title: string; freeze: boolean; report: number } | null;
}

/**
 * The row's boot went on after the report, and locate-freeze (`answer`: --json, `text`: its plain
 * output) gives the report's kind and title and ties it to the marked line, run last on the report's CPU.
 */
export function assertCrashLocated(row: CrashScenario, run: ScenarioResult, log: string, answer: CrashAnswer, text: string): void {
  const [marker] = findMarkers(EXAMPLE_DIR, row.marker);
  assert.equal(run.exitedBy, 'poweroff', 'no panic: init went on and powered off');
  assert.match(log, row.after, 'the machine went on after the report');
  assert.equal(answer.status, 'found');
  const [report] = answer.reports;
  assert.ok(report, 'a report');
  assert.equal(report.kind, row.kind);
  assert.equal(report.death, row.death);
  assert.equal(report.title, row.title);
  assert.equal(report.panicked, false);
  assert.deepEqual(answer.death && { kind: answer.death.kind, report: answer.death.report, freeze: answer.death.freeze }, { kind: row.kind, report: 0, freeze: false });
  assert.ok(report.lastCrumb, 'the report is tied to a breadcrumb');
  assert.equal(`${report.lastCrumb.file}:${report.lastCrumb.line}`, `${marker.file}:${marker.line}`, 'the last breadcrumb of the report\'s CPU is the marked line');
  assert.equal(report.lastCrumb.function, row.function);
  assert.equal(report.lastCrumb.cpu, report.cpu, 'the breadcrumb is the report\'s CPU\'s');
  const headline = text.split('\n')[0];
  assert.ok(headline.startsWith(`${marker.file}:${marker.line}:`), `the headline names the marked line: ${headline}`);
  assert.ok(headline.includes(row.title), `the headline names the report: ${headline}`);
  assert.doesNotMatch(headline, /freeze/, 'a machine that crashed or warned did not freeze');
}
