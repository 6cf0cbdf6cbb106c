/**
 * The crash scenarios of examples/dm-remap, one row each: how the guest triggers it (test/kernel/guest/init),
 * the serial log kept in examples/dm-remap/captured/, and what locate-freeze must answer. The machine goes
 * on after every one of them: no panic, init powers off. test/kernel/crash.test.ts boots them with printk
 * breadcrumbs; test/locate/captured-logs.test.ts reads their captured logs in every format.
 */
import type { ScenarioName } from './qemu.js';

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
