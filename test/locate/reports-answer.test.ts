/**
 * The kernel's reports in the answer: a machine that oopsed is not called frozen, the report is tied to
 * the last breadcrumb its CPU or task printed (not to another CPU's later one), and headline and --json
 * agree, in every log format. One case per report kind is a folder of test/fixtures/locate/ (report-*).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatText } from '../../src/locate/report.js';
import { formatJson } from '../../src/locate/answer-json.js';
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
});
