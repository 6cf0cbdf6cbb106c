/**
 * Sleeping hangs from constructed trails of fixtures/dm-waits.c (breadcrumbs: wt_work 1-4, wt_thread 5-7
 * (6 the msleep loop), wt_reader 8-11, wt_map 12-14, wt_end_io 15-18, wt_presuspend 19-22,
 * wt_presuspend_undo 23-24, wt_postsuspend 25-27, wt_dtr 28-33) swept over every log format; one wait
 * kind and one root reason per case are folders of test/fixtures/locate/ (wait-*, livelock-*).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentSources } from '../../src/instrument/instrument.js';
import { parseTemplate, withTaskId } from '../../src/instrument/template.js';
import { FORMATS, instrumentedFixture, locateText, merge, render, say, WITH_CALLER, type Event } from './helpers.js';

const TAG = 'kq7x';
/** Breadcrumbs of one task (pid) on one CPU, as `instrument --task-id` prints them, 1 ms apart from `t`. */
const task = (pid: number, ids: number[], cpu: number, t: number): Event[] => ids.map((id, i) => ({ text: `${TAG}#${id}@${cpu}.${pid}`, time: t + i * 0.001, cpu, level: 2 }));
const hung = (name: string, pid: number, t: number, frames: string[]): Event[] => [
  say(`INFO: task ${name}:${pid} blocked for more than 3 seconds.`, t),
  say(`task:${name} state:D stack:0 pid:${pid} ppid:2 flags:0x00004000`, t),
  say('Call Trace:', t),
  say(' <TASK>', t),
  ...frames.map((f) => say(` ${f}+0x4b/0x90 [dm_waits]`, t)),
  say(' </TASK>', t),
];

describe('sleeping hangs in every log format', async () => {
  const { manifest } = await instrumentedFixture('dm-waits.c');
  const locate = (events: Event[], format: (typeof FORMATS)[number] = 'console') => locateText(render(merge(...[events]), format), [manifest]);

  it('without task ids, a CPU trail that ran the destructor after the work item went to sleep: the hung-task reports tell them apart', () => {
    // CPU 1 runs the work item until it sleeps, then the destructor: one trail, two tasks
    const events = merge(task(0, [12, 13, 14], 0, 1), [...task(0, [1, 2], 1, 2), ...task(0, [28], 1, 3)], hung('kworker/1:1', 29, 9, ['wt_work']), hung('dmsetup', 119, 9, ['wt_dtr']));
    for (const e of events) e.text = e.text.replace(/@(\d+)\.0$/, '@$1');
    for (const format of FORMATS.filter((f) => !WITH_CALLER.has(f))) {
      const answer = locate(events, format);
      assert.equal(answer.root?.reason, 'waits-unsignalled', format);
      assert.equal(answer.root?.at.crumb.id, 2, format);
      assert.deepEqual(answer.root?.sleep?.chain.map((w) => w.task.name), ['dmsetup:119', 'kworker/1:1:29'], format);
    }
  });
});

describe('--task-id breadcrumbs', () => {
  it('print the pid after the CPU, and are read as per-task trails', async () => {
    const template = withTaskId(parseTemplate('printk(KERN_CRIT "{{text}}\\n", {{cpu}});', 'printk'));
    const source = 'static int t_map(struct dm_target *ti, struct bio *bio)\n{\n\treturn 0;\n}\nstatic struct target_type t = { .map = t_map };\n';
    const { outputs, manifest } = await instrumentSources([{ path: 't.c', text: source }], { level: 'every-line', template, tag: TAG, root: '/src' });
    assert.match(outputs[0].text, /printk\(KERN_CRIT "kq7x#1@%d\.%d\\n", raw_smp_processor_id\(\), task_pid_nr\(current\)\);/);
    assert.equal(manifest.taskId, true);
    const answer = locateText(render([{ text: 'kq7x#1@1.233', time: 1, cpu: 1 }], 'console'), [manifest]);
    assert.equal(answer.last?.thread, 'T233');
    assert.equal(answer.last?.cpu, 1);
    assert.throws(() => withTaskId({ name: 'x', statement: 'trace_printk("{{text}}\\n");' }), /needs \{\{text\}\} and \{\{cpu\}\} placeholders/);
  });
});
