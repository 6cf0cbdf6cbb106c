/**
 * The kernel's reports in the answer: a machine that oopsed is not called frozen, the report is tied to
 * the last breadcrumb its CPU or task printed (not to another CPU's later one), a warning says the
 * machine went on, and headline and --json agree, in every log format.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatText } from '../../src/locate/report.js';
import { formatJson } from '../../src/locate/answer-json.js';
import { runCli } from '../support/run-cli.js';
import { crumbs, demo, FORMATS, locateText, merge, render, type Event } from './helpers.js';

const paths = { display: () => 'drivers/md/dm-demo.c' };

/** A NULL dereference in demo_map on `cpu` by task `pid`, the machine going on. */
function oops(cpu: number, t: number, pid: number, fn = 'demo_map'): Event[] {
  const lines = [
    'BUG: kernel NULL pointer dereference, address: 0000000000000008',
    '#PF: supervisor read access in kernel mode',
    'Oops: 0000 [#1] PREEMPT SMP NOPTI',
    `CPU: ${cpu} PID: ${pid} Comm: kworker/${cpu}:1 Tainted: G           OE      6.1.0-18-amd64 #1  Debian 6.1.76-1`,
    'Workqueue: events demo_work [dm_demo]',
    `RIP: 0010:${fn}+0x2b/0x90 [dm_demo]`,
    'Call Trace:',
    ' <TASK>',
    ' ? __die+0x23/0x70',
    ' ? page_fault_oops+0x171/0x4e0',
    ` ? ${fn}+0x2b/0x90 [dm_demo]`,
    ' process_one_work+0x1c7/0x380',
    ' worker_thread+0x4d/0x380',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ];
  return lines.map((text, i) => ({ text, time: t + i * 0.000001, cpu, task: pid, level: 4 }));
}

describe('kernel reports in the answer', async () => {
  const { manifest } = await demo();

  for (const format of FORMATS) {
    it(`an oops on CPU 1 after #7, while CPU 0 goes on printing: tied to #7, not "freeze" (${format})`, () => {
      const events = merge(crumbs('kq7x', [5, 6, 7], 1, 20, 300), oops(1, 21, 300), crumbs('kq7x', [5, 6, 9], 0, 22, 301));
      const answer = locateText(render(events, format), [manifest]);
      assert.equal(answer.death?.report.title, 'BUG: unable to handle kernel NULL pointer dereference in demo_map');
      assert.equal(answer.death?.crumb?.crumb.id, 7);
      assert.deepEqual(answer.death?.report.cpus, [1]);
      const text = formatText(answer, { paths });
      assert.match(text[0], /: note: CPU 1 in work item demo_work \(workqueue events\) faulted \(BUG: unable to handle kernel NULL pointer dereference in demo_map\) right after #7 \(demo_map\)/);
      assert.doesNotMatch(text.join('\n'), /freeze/);
      const json = formatJson(answer, paths) as { reports: { title: string; cpu: number; guilty: { function: string } }[]; death: { freeze: boolean; title: string } };
      assert.equal(json.reports[0].title, answer.death?.report.title);
      assert.equal(json.reports[0].guilty.function, 'demo_map');
      assert.equal(json.death.freeze, false);
      assert.ok(text[0].includes(json.death.title));
    });
  }

  it('a warning: the machine went on', () => {
    const warning = [
      '------------[ cut here ]------------',
      'WARNING: CPU: 0 PID: 301 at drivers/md/dm-demo.c:30 demo_map+0x3b/0x90 [dm_demo]',
      'CPU: 0 PID: 301 Comm: dd Tainted: G           OE      6.1.0 #1',
      'RIP: 0010:demo_map+0x3b/0x90 [dm_demo]',
      'Call Trace:',
      ' __map_bio+0x4e/0x200 [dm_mod]',
      '---[ end trace 0000000000000000 ]---',
    ].map((text, i) => ({ text, time: 21 + i * 0.000001, cpu: 0, task: 301 }));
    const events = merge(crumbs('kq7x', [5, 6], 0, 20, 301), warning, crumbs('kq7x', [9, 10], 0, 22, 301));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.death?.report.title, 'WARNING in demo_map');
    assert.equal(answer.death?.crumb?.crumb.id, 6);
    assert.match(formatText(answer, { paths })[0], /warned \(WARNING in demo_map\) right after #6 .*triggered it; the machine went on/);
  });

  it('a warning, then its CPU prints far more breadcrumbs than a trail keeps: still tied to the one before it', () => {
    const warning = [
      '------------[ cut here ]------------',
      'WARNING: CPU: 1 PID: 301 at drivers/md/dm-demo.c:30 demo_map+0x3b/0x90 [dm_demo]',
      'CPU: 1 PID: 301 Comm: dd Tainted: G           OE      6.1.0 #1',
      'RIP: 0010:demo_map+0x3b/0x90 [dm_demo]',
      '---[ end trace 0000000000000000 ]---',
    ].map((text, i) => ({ text, time: 21 + i * 0.000001, cpu: 1, task: 301 }));
    const after = Array.from({ length: 200 }, (_, i) => crumbs('kq7x', [9, 10], 1, 22 + i * 0.001, 301)).flat();
    const events = merge(crumbs('kq7x', [5, 6], 1, 20, 301), warning, after);
    for (const format of ['console', 'console-caller'] as const) {
      const answer = locateText(render(events, format), [manifest], { trail: 4 });
      assert.equal(answer.death?.crumb?.crumb.id, 6, format);
      assert.equal(answer.last?.crumb.id, 10, `${format}: the last breadcrumb is still the last printed`);
    }
  });

  it('a crash before the lockups it caused is how the run ended', () => {
    const lockup = [
      'watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [dd:302]',
      'CPU: 0 PID: 302 Comm: dd Tainted: G      D    OEL    6.1.0 #1',
      'RIP: 0010:native_queued_spin_lock_slowpath+0x5d/0x2e0',
      'Call Trace:',
      ' _raw_spin_lock_irq+0x29/0x30',
      ' demo_presuspend+0x2b/0x60 [dm_demo]',
    ].map((text, i) => ({ text, time: 60 + i * 0.000001, cpu: 0 }));
    const events = merge(crumbs('kq7x', [5, 6, 7], 1, 20), oops(1, 21, 300), crumbs('kq7x', [13], 0, 22), lockup);
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.deepEqual(answer.reports.map((c) => c.report.kind), ['null-deref', 'soft-lockup']);
    assert.equal(answer.death?.report.kind, 'null-deref');
    assert.equal(answer.death?.crumb?.crumb.id, 7);
  });
});

describe('kcrumb locate-freeze on a log of an uninstrumented module', () => {
  it('prints the reports, says what to instrument, exits 1; --json holds them too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-reports-'));
    writeFileSync(join(dir, 'serial.log'), render(oops(1, 21, 300, 'remap_lookup'), 'console'), 'latin1');
    const run = await runCli(['locate-freeze', 'serial.log'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /CPU 1 in work item demo_work \(workqueue events\) faulted \(BUG: unable to handle kernel NULL pointer dereference in remap_lookup\)/);
    assert.match(run.stderr, /guilty frame remap_lookup\+0x2b\/0x90 \[dm_demo\]/);
    assert.match(run.stderr, /kcrumb zoom LOG FILES/);
    const json = await runCli(['locate-freeze', '--json', 'serial.log'], dir);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { status: string; reports: { title: string; cpu: number; pid: number; workqueue: string }[] };
    assert.equal(parsed.status, 'none');
    assert.deepEqual(parsed.reports.map((r) => [r.title, r.cpu, r.pid, r.workqueue]), [['BUG: unable to handle kernel NULL pointer dereference in remap_lookup', 1, 300, 'events']]);
  });

  it('a log with neither breadcrumbs nor reports still needs a manifest (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-reports-'));
    writeFileSync(join(dir, 'serial.log'), '[    1.000000] Linux version 6.1.0\n[    2.000000] hello\n', 'latin1');
    const run = await runCli(['locate-freeze', 'serial.log'], dir);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no manifest/);
  });
});
