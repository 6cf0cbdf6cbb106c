import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BOOT_LINE, crumbs, demo, FORMATS, freezeScenario, locateText, merge, MONOTONIC, render, say, WITH_CALLER,
} from './helpers.js';

describe('every log format: the freeze scenario answers #13 at dm-demo.c:47:9', async () => {
  const { manifest } = await demo();
  for (const format of FORMATS) {
    it(format, () => {
      const answer = locateText(render(freezeScenario(), format), [manifest]);
      assert.equal(answer.status, 'found');
      const last = answer.last!;
      assert.equal(last.crumb.id, 13);
      assert.equal(last.crumb.line, 47);
      assert.equal(last.crumb.column, 9);
      assert.equal(last.crumb.function, 'demo_presuspend');
      assert.equal(last.cpu, 1);
      assert.equal(last.thread, WITH_CALLER.has(format) ? 'T400' : 'CPU1');
      assert.deepEqual(answer.next.map((n) => n.crumb.id), [14]);
      const trail = answer.threads[0].crumbs.map((s) => s.crumb.id);
      assert.deepEqual(trail, WITH_CALLER.has(format) ? [13] : [8, 1, 2, 3, 2, 3, 4, 10, 11, 12, 13]);
      assert.equal(answer.threads.length, WITH_CALLER.has(format) ? 3 : 2);
      // the soft lockup's backtrace names demo_presuspend on CPU 1
      const lockup = answer.lockups.find((c) => c.report.kind === 'soft-lockup');
      assert.ok(lockup, 'soft lockup found');
      assert.equal(lockup.verdict, 'agrees');
      assert.equal(lockup.frame?.function, 'demo_presuspend');
      assert.equal(lockup.frame?.module, 'dm_demo');
    });
  }
});

describe('several boots in one capture: the answer is about the last boot with breadcrumbs', async () => {
  const { manifest } = await demo();
  for (const format of FORMATS) {
    it(format, () => {
      const boot1 = merge(freezeScenario('kq7x', 0, false).slice(0, 12));
      const boot2 = freezeScenario();
      const boot3 = [say(BOOT_LINE, 0), say('systemd[1]: Started foo', 5)];
      const log = render(boot1, format) + render(boot2, format, 500) + render(boot3, format, 9);
      const answer = locateText(log, [manifest]);
      assert.equal(answer.last?.crumb.id, 13);
      assert.equal(answer.boot?.number, 2);
      assert.equal(answer.boot?.count, 3);
      assert.match(answer.boot!.firstLine, /^Linux version 6\.1\.0/);
    });
  }
});

describe('boots without a Linux version line are told apart by the clock going back', async () => {
  const { manifest } = await demo();
  for (const format of [...MONOTONIC]) {
    it(format, () => {
      const first = crumbs('kq7x', [17, 18, 19], 0, 300);
      const second = merge([say('random: crng init done', 0.5)], crumbs('kq7x', [5, 6], 1, 3));
      const answer = locateText(render(first, format) + render(second, format, 0), [manifest]);
      assert.equal(answer.last?.crumb.id, 6);
      assert.equal(answer.boot?.number, 2);
      assert.deepEqual(answer.threads.map((t) => t.crumbs.map((s) => s.crumb.id)), [[5, 6]]);
    });
  }
});

describe('chunk boundaries anywhere give the same answer', async () => {
  const { manifest } = await demo();
  for (const chunk of [1, 2, 3, 7, 64, 1000]) {
    it(`chunks of ${chunk}`, () => {
      const log = render(freezeScenario(), 'console-crlf-noise');
      const answer = locateText(log, [manifest], { chunk });
      assert.equal(answer.last?.crumb.id, 13);
      assert.equal(answer.last?.lineNumber, log.split('\n').findIndex((line) => line.includes('kq7x#13@1')) + 1);
      assert.equal(answer.last?.offset, log.lastIndexOf('\n', log.indexOf('kq7x#13@1')) + 1);
    });
  }
});
