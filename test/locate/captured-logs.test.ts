/**
 * Real serial logs of examples/dm-remap and examples/blk-stall freezing on Debian's 6.1 kernel under
 * QEMU (examples/<example>/captured/), read as captured and rewritten into every log format kcrumb reads: the
 * root must be the line the example marks as the cause, for the right reason, and `last` the last
 * breadcrumb printed, each time. The manifest is made here,
 * by instrumenting the example exactly as the captured run did (same files, level and tag).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findCrumbs } from '../../src/breadcrumb.js';
import { instrumentSources } from '../../src/instrument/instrument.js';
import type { Template } from '../../src/breadcrumb.js';
import { parseTemplate, withTaskId } from '../../src/instrument/template.js';
import { CRASH_SCENARIOS } from '../kernel/crash-scenarios.js';
import { REPO } from '../support/instrument-text.js';
import { FORMATS, locateText, render, type Event } from './helpers.js';

const EXAMPLE = join(REPO, 'examples', 'dm-remap');
const CAPTURED = join(EXAMPLE, 'captured');
const BLK_EXAMPLE = join(REPO, 'examples', 'blk-stall');

/** file:line of the example's `/* kcrumb-test: <what> *\/` comment. */
function marker(what: string, example = EXAMPLE): string {
  for (const file of readdirSync(example).filter((f) => f.endsWith('.c'))) {
    const lines = readFileSync(join(example, file), 'utf8').split('\n');
    const at = lines.findIndex((line) => line.includes(`/* kcrumb-test: ${what} */`));
    if (at >= 0) return `${file}:${at + 1}`;
  }
  throw new Error(`no "${what}" marker in ${example}`);
}

/** The serial log as events (text, time, CPU) that render() can write in any format. */
function events(log: string): Event[] {
  let time = 0;
  const lines = log.split(/\r?\n/);
  const reportCpu = reportCpus(lines);
  return lines.flatMap((line, i) => {
    const m = /^\[\s*(\d+\.\d+)\] (.*)$/.exec(line);
    if (!m) return line.trim() ? [{ text: line, time, cpu: 0 }] : [];
    time = Number(m[1]);
    const crumb = findCrumbs(m[2])[0];
    const cpu = crumb?.cpu ?? reportCpu.get(i) ?? 0;
    // a --task-id breadcrumb knows its task; else one task per CPU (what a caller id of that CPU's trail says)
    return [{ text: m[2], time, cpu, task: crumb?.task ?? (cpu === 0 ? 100 : 200) }];
  });
}

describe('captured QEMU logs of the bundled examples, in every format', async () => {
  const printk = parseTemplate(readFileSync(join(REPO, 'templates', 'printk.tmpl'), 'utf8'), 'printk');
  const instrument = async (tag: string, template: Template, example = EXAMPLE) => {
    const sources = readdirSync(example).filter((f) => f.endsWith('.c')).sort();
    const files = sources.map((path) => ({ path, text: readFileSync(join(example, path), 'latin1') }));
    return (await instrumentSources(files, { level: 'every-line', tag, root: example, template })).manifest;
  };
  // the plain runs (kdem) and the --task-id runs (kdet) of test/kernel/sleeping-hang.test.ts
  const plain = await instrument('kdem', printk);
  const withTaskIds = await instrument('kdet', withTaskId(printk));
  // examples/blk-stall as test/kernel/blk-example.test.ts instruments it
  const blk = await instrument('kblk', printk, BLK_EXAMPLE);
  // root: the line the example marks as the cause, and why; last: the last breadcrumb printed
  const cases = [
    { log: 'remove-one-remap.serial.log', last: marker('hangs here'), fn: 'remap_entry_flush', root: marker('hangs here'), reason: 'self-deadlock' },
    { log: 'map-hang.serial.log', last: marker('map hangs here'), fn: 'remap_map', root: marker('map hangs here'), reason: 'stopped-first' },
    // CPU 1 keeps rc->lock in remap_hold_lock; CPU 0's remap_map waits for it and prints last
    { log: 'hang-locked.serial.log', last: lineOf('dm-remap-target.c', 'remap_map', 'spin_lock_irqsave(&rc->lock, flags);'), fn: 'remap_map', root: marker('holds the lock here'), reason: 'holds-lock-waited-by' },
    // --sink ring: the same freezes, the breadcrumbs only in the dump the panic printed after the reports
    { log: 'ring-remove-one-remap.serial.log', last: marker('hangs here'), fn: 'remap_entry_flush', root: marker('hangs here'), reason: 'self-deadlock' },
    { log: 'ring-map-hang.serial.log', last: marker('map hangs here'), fn: 'remap_map', root: marker('map hangs here'), reason: 'stopped-first' },
    // both CPUs froze silently; the NMI sent after 8 s of silence (unknown_nmi_panic) printed the dump
    { log: 'ring-hang-locked.serial.log', last: lineOf('dm-remap-target.c', 'remap_map', 'spin_lock_irqsave(&rc->lock, flags);'), fn: 'remap_map', root: marker('holds the lock here'), reason: 'holds-lock-waited-by' },
    // sleeping hangs: the work item's wait is the root; the last breadcrumb is the destructor's, or with
    // --task-id the first task the hung-task detector named (the work item)
    { log: 'hang-sync.serial.log', last: marker('teardown waits for the work here'), fn: 'remap_dtr', root: marker('sync work waits here'), reason: 'waits-unsignalled' },
    { log: 'hang-sync-locked.serial.log', last: marker('teardown waits for the mutex here'), fn: 'remap_dtr', root: marker('locked sync work waits here'), reason: 'waits-unsignalled' },
    { log: 'hang-sync-task-id.serial.log', manifest: withTaskIds, last: marker('sync work waits here'), fn: 'remap_sync_after_copy', root: marker('sync work waits here'), reason: 'waits-unsignalled' },
    { log: 'hang-sync-locked-task-id.serial.log', manifest: withTaskIds, last: marker('locked sync work waits here'), fn: 'remap_sync_locked_after_copy', root: marker('locked sync work waits here'), reason: 'waits-unsignalled' },
    // blk-stall: a flush's queue_rq holds dev->lock and calls the timer's completion, which takes it again
    { log: 'flush-stall.serial.log', example: BLK_EXAMPLE, manifest: blk, last: marker('flush hangs here', BLK_EXAMPLE), fn: 'blkst_complete_pending', root: marker('flush hangs here', BLK_EXAMPLE), reason: 'self-deadlock' },
  ];
  const place = (crumb: { file: number; line: number }, manifest = plain) => `${manifest.files[crumb.file].path}:${crumb.line}`;
  for (const { log, last, fn, root, reason, manifest = plain, example = EXAMPLE } of cases) {
    const raw = readFileSync(join(example, 'captured', log), 'latin1');
    it(`${log} as captured`, () => {
      const answer = locateText(raw, [manifest]);
      assert.equal(place(answer.last!.crumb, manifest), last);
      assert.equal(answer.last!.crumb.function, fn);
      assert.equal(place(answer.root!.at.crumb, manifest), root);
      assert.equal(answer.root!.reason, reason);
      assert.equal(answer.last!.fromDump === true, log.startsWith('ring-'), 'the answer came from the dump');
      assert.equal(answer.ringDump?.reason, log.startsWith('ring-') ? 'panic' : undefined);
    });
    for (const format of FORMATS) {
      it(`${log} as ${format}`, () => {
        const answer = locateText(render(events(raw), format), [manifest]);
        assert.equal(answer.status, 'found');
        assert.equal(place(answer.last!.crumb, manifest), last);
        assert.equal(place(answer.root!.at.crumb, manifest), root);
        assert.equal(answer.root!.reason, reason);
      });
    }
  }
  // crashes (test/kernel/crash-scenarios.ts): the machine went on after the report, which is tied to the
  // last breadcrumb of its CPU, the marked line; `last` is whatever printed after
  for (const row of CRASH_SCENARIOS) {
    const raw = readFileSync(join(CAPTURED, row.captured), 'latin1');
    const check = (answer: ReturnType<typeof locateText>) => {
      assert.equal(answer.status, 'found');
      const death = answer.death;
      assert.ok(death, 'a report ended the run');
      assert.equal(answer.reports[0], death, 'the first report');
      assert.equal(death.report.kind, row.kind);
      assert.equal(death.report.death, row.death);
      assert.equal(death.report.title, row.title);
      assert.equal(death.report.panicked, false);
      assert.ok(death.crumb, 'tied to a breadcrumb');
      assert.equal(place(death.crumb.crumb), marker(row.marker));
      assert.equal(death.crumb.crumb.function, row.function);
      assert.equal(death.crumb.cpu, death.report.cpus[0], 'the report\'s CPU printed it');
    };
    it(`${row.captured} as captured`, () => check(locateText(raw, [plain])));
    for (const format of FORMATS) it(`${row.captured} as ${format}`, () => check(locateText(render(events(raw), format), [plain])));
  }
});

/**
 * Line index -> CPU, for the lines of an oops, BUG or WARNING report: from its start (`cut here` or its
 * header) to `---[ end trace`, the CPU of its `CPU: N PID:` line. Their printer is that CPU's task, as in
 * the real log; the other lines stay on CPU 0.
 */
function reportCpus(lines: string[]): Map<number, number> {
  const cpus = new Map<number, number>();
  const START = /\] (?:-+\[ cut here \]|BUG: |WARNING: |kernel BUG at )/;
  lines.forEach((line, i) => {
    const cpu = /\] CPU: (\d+) PID: \d+ Comm: /.exec(line);
    if (!cpu) return;
    let start = i;
    while (start > i - 12 && start > 0 && !START.test(lines[start])) start--;
    const end = lines.findIndex((l, j) => j > i && l.includes('---[ end trace'));
    if (!START.test(lines[start]) || end < 0 || end - i > 300) return;
    for (let j = start; j <= end; j++) if (!cpus.has(j)) cpus.set(j, Number(cpu[1]));
  });
  return cpus;
}

/** file:line of the first line of `fn` in the example's `file` whose text is `statement` (trimmed). */
function lineOf(file: string, fn: string, statement: string): string {
  const lines = readFileSync(join(EXAMPLE, file), 'utf8').split('\n');
  const start = lines.findIndex((line) => new RegExp(`^static \\w+ ${fn}\\(`).test(line));
  const at = lines.findIndex((line, i) => i > start && line.trim() === statement);
  if (start < 0 || at < 0) throw new Error(`no "${statement}" in ${fn}() of ${file}`);
  return `${file}:${at + 1}`;
}
