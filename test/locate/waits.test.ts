/**
 * Sleeping hangs from constructed trails of fixtures/dm-waits.c (breadcrumbs: wt_work 1-4, wt_thread 5-7
 * (6 the msleep loop), wt_reader 8-11, wt_map 12-14, wt_end_io 15-18, wt_presuspend 19-22,
 * wt_presuspend_undo 23-24, wt_postsuspend 25-27, wt_dtr 28-33), printed with --task-id pids, one wait
 * kind and one root reason per case; and the livelock that takes and drops one mutex per turn.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentSources } from '../../src/instrument/instrument.js';
import { parseTemplate, withTaskId } from '../../src/instrument/template.js';
import { formatText } from '../../src/locate/report.js';
import { formatJson } from '../../src/locate/answer-json.js';
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
const paths = { display: () => 'drivers/md/dm-waits.c' };

describe('sleeping hangs, from constructed trails', async () => {
  const { manifest } = await instrumentedFixture('dm-waits.c');
  const line = (id: number) => manifest.crumbs[id - 1].line;
  const locate = (events: Event[], format: (typeof FORMATS)[number] = 'console') => locateText(render(merge(...[events]), format), [manifest]);

  it('completion: the work item sleeps holding the mutex, the destructor waits for the mutex: waits-unsignalled at wait_for_completion', () => {
    const events = merge(task(40, [12, 13, 14], 0, 1), task(29, [1, 2], 1, 2), task(119, [28], 1, 3), hung('kworker/1:1', 29, 9, ['wt_work']), hung('dmsetup', 119, 9, ['wt_dtr']));
    for (const format of ['console', 'kmsg', 'dmesg-T'] as const) {
      const answer = locate(events, format);
      assert.equal(answer.root?.reason, 'waits-unsignalled', format);
      assert.equal(answer.root?.at.crumb.id, 2, 'wait_for_completion(&wc->done)');
      assert.equal(answer.root?.sleep?.task.name, 'kworker/1:1:29', 'the hung-task report names it');
      assert.deepEqual(answer.root?.sleep?.chain.map((w) => [w.task.key, w.kind, w.object]), [['T119', 'mutex', 'wc->m'], ['T29', 'completion', 'wc->done']]);
      assert.deepEqual(answer.root?.sleep?.wait?.signallers.map((s) => s.crumb.id), [15], 'complete(&wc->done) in wt_end_io never printed');
      assert.equal(answer.root?.confidence, 'high');
    }
    const answer = locate(events);
    const text = formatText(answer, { paths }).join('\n');
    // the hung-task report names the work item, so its breadcrumb is also the answer's last: one line says both
    assert.match(text.split('\n')[0], new RegExp(`^drivers/md/dm-waits.c:${line(2)}:\\d+: note: last breadcrumb #2 \\(wt_work\\): the hang is at or after this statement \\(the kernel reported INFO: task hung in wt_work\\); root \\(waits-unsignalled\\)`));
    assert.match(text, /Asleep, each waiting for the next \(the root last\):\n.*dmsetup:119 waits for the mutex wc->m \(mutex_lock\), #28 in wt_dtr\(\): held by kworker\/1:1:29/);
    const json = formatJson(answer, paths) as { root: { reason: string; waitsFor: unknown }; waiting: { waitKind: string; object: string; heldBy: { task: string }[] }[] };
    assert.equal(json.root.reason, 'waits-unsignalled');
    assert.deepEqual(json.root.waitsFor, { kind: 'completion', call: 'wait_for_completion', object: 'wc->done' });
    assert.deepEqual(json.waiting.map((w) => [w.waitKind, w.object, w.heldBy.map((h) => h.task)]), [['mutex', 'wc->m', ['T29']], ['completion', 'wc->done', []]]);
  });

  it('a completion signalled after the wait began is no root: the wait ended', () => {
    const answer = locate(merge(task(29, [1, 2], 1, 2), task(7, [15, 16, 17, 18], 0, 3)));
    assert.notEqual(answer.root?.reason, 'waits-unsignalled');
    assert.deepEqual(answer.sleeps, []);
  });

  it('deadlock: the destructor holds the mutex across flush_work of the work item that takes it', () => {
    const answer = locate(merge(task(119, [28, 29], 0, 1), task(29, [1], 1, 2)));
    assert.equal(answer.root?.reason, 'deadlock');
    assert.deepEqual(answer.root?.sleep?.cycle?.map((w) => [w.task.key, w.kind]).sort(), [['T119', 'work'], ['T29', 'mutex']]);
    assert.equal(answer.root?.at.crumb.id, 29, 'the cycle is named from the one that stopped first');
    assert.match(formatText(answer, { paths })[0], /root of the hang \(deadlock\).*a cycle of waits between task 119 and task 29/);
  });

  it('wait queue: wait_event that no wake_up follows', () => {
    const answer = locate(task(50, [12, 13], 0, 1));
    assert.equal(answer.root?.reason, 'waits-unsignalled');
    assert.equal(answer.root?.sleep?.wait?.kind, 'waitqueue');
    assert.equal(answer.root?.sleep?.wait?.object, 'wc->wq');
    assert.deepEqual(answer.root?.sleep?.wait?.signallers.map((s) => s.crumb.id), [17]);
  });

  it('workqueue and rwsem: presuspend holds the rwsem and waits in flush_workqueue for the work item asleep on its completion', () => {
    const answer = locate(merge(task(119, [19, 20], 0, 1), task(29, [1, 2], 1, 2), task(120, [19], 1, 3)));
    assert.equal(answer.root?.reason, 'waits-unsignalled');
    assert.equal(answer.root?.at.crumb.id, 2);
    const kinds = answer.sleeps.map((w) => [w.task.key, w.kind, w.holders.map((h) => h.key)]);
    assert.deepEqual(kinds.sort(), [['T119', 'workqueue', ['T29']], ['T120', 'rwsem', ['T119']], ['T29', 'completion', []]]);
    assert.equal(answer.root?.sleep?.waiters.length, 3, 'every chain ends there');
  });

  it('kthread: kthread_stop waits for a thread function that polls with msleep in a loop', () => {
    const answer = locate(merge(task(77, [5, 6, 6, 6, 6, 6], 1, 1), task(119, [28, 29, 30, 31], 0, 2)));
    assert.equal(answer.root?.reason, 'waits-unsignalled');
    assert.equal(answer.root?.at.crumb.id, 6, 'msleep(10) in the loop');
    assert.equal(answer.root?.sleep?.wait?.kind, 'sleep');
    const stop = answer.sleeps.find((w) => w.kind === 'kthread');
    assert.deepEqual(stop?.handlers, ['wt_thread']);
    assert.deepEqual(stop?.holders.map((t) => t.key), ['T77']);
    assert.match(answer.root!.why, /sleeps in a loop whose condition nothing makes true/);
  });

  it('rcu: synchronize_rcu waits for a reader asleep in its read-side section', () => {
    const answer = locate(merge(task(119, [25, 8, 9, 10, 11, 26], 0, 1), task(88, [8, 9], 1, 2)));
    assert.equal(answer.root?.reason, 'waits-unsignalled');
    assert.equal(answer.root?.sleep?.task.key, 'T88');
    assert.equal(answer.root?.at.crumb.id, 9, 'msleep(1) between rcu_read_lock and rcu_read_unlock');
    const sync = answer.sleeps.find((w) => w.kind === 'rcu');
    assert.deepEqual(sync?.holders.map((t) => t.key), ['T88']);
  });

  it('stopped-waited-for: flush_work waits for a handler stopped where kcrumb knows no wait', () => {
    // the work item got past its wait and stopped at mutex_unlock's line: asleep in code kcrumb cannot see
    const answer = locate(merge(task(29, [1, 2, 3], 1, 1), task(119, [28, 29], 0, 2)));
    assert.equal(answer.root?.reason, 'stopped-waited-for');
    assert.equal(answer.root?.at.crumb.id, 3);
    assert.deepEqual(answer.root?.sleep?.chain.map((w) => [w.task.key, w.kind]), [['T119', 'work']]);
  });

  it('holds-lock-waited-by: the destructor waits for the mutex a task holds, stopped where it waits for nothing known', () => {
    const answer = locate(merge(task(29, [1, 2, 3], 1, 1), task(119, [28], 0, 2)));
    assert.equal(answer.root?.reason, 'holds-lock-waited-by');
    assert.equal(answer.root?.sleep?.task.key, 'T29');
    assert.equal(answer.root?.at.crumb.id, 3);
    assert.match(formatText(answer, { paths })[0], /root of the hang \(holds-lock-waited-by\).*task 29 holds wc->m, which task 119 waits for/);
  });

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

describe('a livelock that takes and drops one mutex per turn', async () => {
  // at --level functions the unlocks have no breadcrumb of their own: only the turns show them
  const source = [
    '#include <linux/device-mapper.h>',
    'struct lv_c { struct mutex cache_mutex; int hits; };',
    'static void lv_lookup(struct lv_c *device)\n{\n\tmutex_lock(&device->cache_mutex);\n\tdevice->hits++;\n\tmutex_unlock(&device->cache_mutex);\n}',
    'static void lv_insert(struct lv_c *device)\n{\n\tmutex_lock(&device->cache_mutex);\n\tdevice->hits--;\n\tmutex_unlock(&device->cache_mutex);\n}',
    'static int lv_map(struct dm_target *ti, struct bio *bio)\n{\n\tstruct lv_c *device = ti->private;\n\n\twhile (device->hits >= 0) {\n\t\tlv_lookup(device);\n\t\tlv_insert(device);\n\t}\n\treturn DM_MAPIO_REMAPPED;\n}',
    'static struct target_type lv_target = { .name = "lv", .map = lv_map };',
  ].join('\n\n');
  const template = parseTemplate('printk(KERN_CRIT "{{text}}\\n", {{cpu}});', 'printk');
  const { manifest } = await instrumentSources([{ path: 'lv.c', text: source }], { level: 'functions', template, tag: TAG, root: '/src' });
  const id = (fn: string, kind: string) => manifest.crumbs.find((c) => c.function === fn && c.kind === kind)!.id;
  const turn = [id('lv_lookup', 'entry'), id('lv_lookup', 'exit'), id('lv_insert', 'entry'), id('lv_insert', 'exit')];

  it('is a livelock in text and JSON alike, the mutex held once at most, and the source shown is the last breadcrumb\'s', () => {
    const looping = [id('lv_map', 'entry'), ...Array.from({ length: 30 }, () => turn).flat(), turn[0]];
    const events = merge(
      looping.map((n, i) => ({ text: `${TAG}#${n}@1`, time: 1 + i * 0.01, cpu: 1, level: 2 })),
      [{ text: `${TAG}#${turn[0]}@0`, time: 1.155, cpu: 0, level: 2 }], // CPU 0 stopped in the middle, in lv_lookup's mutex_lock
    );
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.cycle?.livelock, true, 'the headline says livelock');
    assert.equal(answer.root?.reason, 'livelock', 'and so does the root');
    assert.ok((answer.held.get('CPU1') ?? []).length <= 1, `held at most once: ${(answer.held.get('CPU1') ?? []).map((h) => `${h.site.name}#${h.at.crumb.id}`).join(', ')}`);
    const json = formatJson(answer, { display: () => 'lv.c' }) as { root: { reason: string }; livelock: unknown };
    assert.equal(json.root.reason, 'livelock');
    assert.ok(json.livelock);
    const text = formatText(answer, { paths: { display: () => 'lv.c' }, source: { firstLine: answer.last!.crumb.line, lines: ['\tmutex_lock(&device->cache_mutex);'] } });
    assert.match(text[0], /note: livelock on CPU1/);
    assert.ok(text.some((l) => l.startsWith(`> ${answer.last!.crumb.line} |`)), 'the window is marked at the last breadcrumb\'s line');
  });

  it('a real self-deadlock in a loop still is one: the acquire completed once, then the thread stopped at it', () => {
    const events = [id('lv_map', 'entry'), turn[0], turn[0]].map((n, i) => ({ text: `${TAG}#${n}@1`, time: 1 + i * 0.01, cpu: 1, level: 2 }));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'self-deadlock');
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
