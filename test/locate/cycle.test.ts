import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLogArgument } from '../../src/cli/log-file.js';
import { locateFreeze } from '../../src/locate/locate.js';
import { CrumbResolver } from '../../src/locate/resolve.js';
import { CrumbHistory, findTailCycle } from '../../src/locate/cycle.js';
import { formatText } from '../../src/locate/report.js';
import { formatJson } from '../../src/locate/answer-json.js';
import { bootEvents, crumbs, demo, locateText, merge, render, softLockup, type Event } from './helpers.js';

const paths = { display: () => 'drivers/md/dm-demo.c' };
const repeat = (ids: number[], times: number) => Array.from({ length: times }, () => ids).flat();

describe('findTailCycle', () => {
  it('finds the turn, how often it ran, and where the repeating tail begins', () => {
    const seq = [5, 6, 7, 8, 1, ...repeat([2, 3], 20), 2];
    assert.deepEqual(findTailCycle(seq), { period: 2, start: 5, repeats: 20, partial: 1 });
  });

  it('prefers the cycle that explains the longest tail: an outer loop over an inner one', () => {
    const outer = [1, ...repeat([2], 9), 3];
    const seq = [7, ...repeat(outer, 6)];
    const found = findTailCycle(seq);
    assert.equal(found?.period, outer.length);
    assert.equal(found?.start, 1);
    assert.equal(found?.repeats, 6);
  });

  it('needs enough turns and enough breadcrumbs', () => {
    assert.equal(findTailCycle([9, ...repeat([2, 3], 3)]), undefined, 'three turns is not yet a pattern');
    assert.equal(findTailCycle([9, 4, 4, 4, 4]), undefined, 'four prints of one breadcrumb is a short loop');
    assert.equal(findTailCycle([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), undefined);
    assert.equal(findTailCycle([...repeat([2, 3], 10), 4]), undefined, 'the thread left the loop');
  });

  it('CrumbHistory keeps the newest entries within its capacity, oldest first', () => {
    const history = new CrumbHistory(8);
    for (let i = 1; i <= 20; i++) history.push({ key: i, offset: i * 10, lineNumber: i, time: i / 10 });
    assert.equal(history.length, 8);
    assert.deepEqual([...history.keyList()], [13, 14, 15, 16, 17, 18, 19, 20]);
    assert.deepEqual(history.at(0), { key: 13, offset: 130, lineNumber: 13, time: 1.3 });
    const bare = new CrumbHistory(4);
    bare.push({ key: 1, offset: 0 });
    assert.deepEqual(bare.at(0), { key: 1, offset: 0, lineNumber: undefined, time: undefined });
  });
});

/**
 * demo_wait_idle: #1 `int spins = 0;`... in fact #1 entry, #2 and #3 the loop body, #4 the return. CPU 1
 * maps a write (5 6 7 8), enters demo_wait_idle and spins in its loop.
 */
function spinning(turns: number, thenQuiet: number | undefined): Event[] {
  const path = crumbs('kq7x', [5, 6, 7, 8, 1, ...repeat([2, 3], turns), 2], 1, 10, 302);
  const end = path[path.length - 1].time;
  return merge(bootEvents(), crumbs('kq7x', [5, 6, 9, 10, 11, 12], 0, 9, 301), path, thenQuiet === undefined ? [] : softLockup(1, end + thenQuiet, 302, 'demo_wait_idle'));
}

describe('locate-freeze on a livelock', async () => {
  const { manifest } = await demo();

  it('a loop still going round when the watchdog fired: the cycle, its count and its entry, not one line', () => {
    const answer = locateText(render(spinning(300, 0.002), 'console'), [manifest], { trail: 3 });
    assert.equal(answer.status, 'found');
    const cycle = answer.cycle!;
    assert.ok(cycle.livelock);
    assert.equal(cycle.thread, 'CPU1');
    assert.equal(cycle.shape, 'loop');
    assert.deepEqual(cycle.cycle.map((p) => p.crumb.id), [2, 3]);
    assert.equal(cycle.repeats, 300);
    assert.equal(cycle.partial, 1);
    assert.equal(cycle.entered.crumb.id, 2);
    assert.equal(cycle.before?.crumb.id, 1, 'entered right after the entry of demo_wait_idle');
    assert.equal(cycle.stillGoing, true);

    const text = formatText(answer, { paths });
    assert.match(text[0], /^drivers\/md\/dm-demo\.c:21:\d+: note: livelock on CPU1: it went round a cycle of 2 breadcrumb\(s\) 300 time\(s\) and 1 breadcrumb\(s\) into another turn, and was still going round when the hang was reported \(a loop that never ends\)$/);
    assert.ok(text.some((line) => /^drivers\/md\/dm-demo\.c:22:\d+: note: #3 \(demo_wait_idle, statement\): spins\+\+;$/.test(line)), text.join('\n'));
    assert.ok(text.some((line) => /entered at #2 \(log line \d+\), right after #1 .* demo_wait_idle/.test(line)));
    assert.ok(!text.some((line) => line.startsWith('Could have printed next')), 'the next breadcrumb of a cycle is the cycle');

    const json = formatJson(answer, paths) as { livelock: { cycle: { id: number }[]; repeats: number; entered: { id: number; line: number } } };
    assert.deepEqual(json.livelock.cycle.map((c) => c.id), [2, 3]);
    assert.equal(json.livelock.repeats, 300);
    assert.equal(json.livelock.entered.line, 21);
  });

  it('a loop that ran, then the thread went quiet for seconds: a stop on that pass, not a livelock', () => {
    const answer = locateText(render(spinning(40, 22), 'console'), [manifest]);
    assert.equal(answer.cycle?.livelock, false);
    assert.equal(answer.cycle?.stillGoing, false);
    assert.ok(answer.cycle!.quietSeconds! > 21);
    const text = formatText(answer, { paths });
    assert.match(text[0], /note: last breadcrumb #2 \(demo_wait_idle\): the freeze is at or after this statement/);
    assert.ok(text.some((line) => /gone round a loop of 2 breadcrumb\(s\) \(#2 #3\) 40 time\(s\).*went quiet 22\.\d s .*not a livelock/.test(line)), text.join('\n'));
    assert.equal((formatJson(answer, paths) as { livelock: unknown }).livelock, null);
  });

  it('without timestamps it still names the cycle, and says it cannot tell whether it stopped', () => {
    const answer = locateText(render(spinning(50, 30), 'console-notime'), [manifest]);
    assert.equal(answer.cycle?.livelock, true);
    assert.equal(answer.cycle?.stillGoing, undefined);
    assert.match(formatText(answer, { paths })[0], /no timestamps to tell whether it stopped/);
  });

  it('the cycle is found however short --trail is, and with caller ids per task', () => {
    for (const format of ['console-caller', 'kmsg'] as const) {
      const answer = locateText(render(spinning(100, 0.001), format), [manifest], { trail: 0 });
      assert.deepEqual(answer.cycle?.cycle.map((p) => p.crumb.id), [2, 3], format);
    }
  });

  it('a recursion: a function entered in every turn and never left', () => {
    const events = merge(bootEvents(), crumbs('kq7x', [17, ...repeat([5, 6], 30)], 0, 5));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.cycle?.shape, 'recursion');
    assert.match(formatText(answer, { paths })[0], /a recursion that never returns/);
  });

  it('no cycle in an ordinary freeze, and other threads going round are marked in the trail list', () => {
    const plain = locateText(render(merge(bootEvents(), crumbs('kq7x', [5, 6, 9, 10, 13], 0, 5)), 'console'), [manifest]);
    assert.equal(plain.cycle, undefined);
    const both = merge(bootEvents(), crumbs('kq7x', [17, ...repeat([2, 3], 10)], 0, 5), crumbs('kq7x', [13], 1, 8));
    const answer = locateText(render(both, 'console'), [manifest]);
    assert.equal(answer.last?.crumb.id, 13);
    assert.equal(answer.cycle, undefined);
    assert.ok(answer.otherCycles.get('CPU0'));
    assert.ok(formatText(answer, { paths }).some((line) => /CPU0: .*had gone round a loop of 2 breadcrumb\(s\) 10 time\(s\)/.test(line)));
  });

  it('a big log read from its end finds the same cycle, with a bounded history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-cycle-'));
    const path = join(dir, 'spin.log');
    const noise = Array.from({ length: 20000 }, (_, i) => `[    1.${String(i).padStart(6, '0')}] unrelated line ${i}`).join('\n') + '\n';
    writeFileSync(path, noise + render(spinning(6000, 0.001), 'console'), 'latin1');
    const resolver = new CrumbResolver([manifest]);
    const ctx = { cwd: dir, stdin: Readable.from([]) };
    const { analysis, fromStart, toEnd } = await readLogArgument(ctx, path, resolver, 10, { wholeFileBytes: 0, chunkBytes: 4096, tailBytes: 1 << 16 });
    assert.equal(fromStart, false, 'read from the end, not whole');
    const answer = locateFreeze({ analysis, resolver, fromStart, toEnd });
    assert.deepEqual(answer.cycle?.cycle.map((p) => p.crumb.id), [2, 3]);
    assert.ok(answer.cycle!.repeats >= 2000 && answer.cycle!.repeats <= 2048, `history is bounded: ${answer.cycle!.repeats} turns`);
    assert.equal(answer.cycle?.before, undefined, 'entered before the kept history');
    assert.match(formatText(answer, { paths }).join('\n'), /entered before the \d+ breadcrumbs of this thread kept/);
  });
});
