import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLogArgument } from '../../src/cli/log-file.js';
import type { ReadLimits } from '../../src/locate/read-log.js';
import { locateFreeze } from '../../src/locate/locate.js';
import { CrumbResolver } from '../../src/locate/resolve.js';
import { TailScanner } from '../../src/locate/tail-scan.js';
import { BOOT_LINE, crumbs, demo, FORMATS, freezeScenario, locateText, merge, render, say } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kcrumb-locate-'));
let n = 0;
function logFile(text: string): string {
  const path = join(dir, `log${n++}.txt`);
  writeFileSync(path, Buffer.from(text, 'latin1'));
  return path;
}
const ctx = { cwd: dir, stdin: Readable.from([]) };

/** Reads every file from the end, in tiny chunks, with a tail window of `tail` bytes. */
function limits(chunkBytes: number, tailBytes = 1 << 20): ReadLimits {
  return { wholeFileBytes: 0, chunkBytes, tailBytes };
}

describe('reading from the end gives the answer of a full forward read', async () => {
  const { manifest } = await demo();
  const resolver = new CrumbResolver([manifest]);
  for (const format of FORMATS) {
    it(format, async () => {
      const text = render(merge([say('noise before', 0)], crumbs('kq7x', [17, 18, 19], 0, 1)), format) + render(freezeScenario(), format, 100);
      const forward = locateText(text, [manifest]);
      for (const chunk of [5, 64, 4096]) {
        const { analysis, fromStart, toEnd } = await readLogArgument(ctx, logFile(text), resolver, 10, limits(chunk));
        const answer = locateFreeze({ analysis, resolver, fromStart, toEnd });
        assert.equal(answer.last?.crumb.id, forward.last?.crumb.id, `chunk ${chunk}`);
        assert.equal(answer.last?.offset, forward.last?.offset);
        assert.deepEqual(
          answer.threads.map((t) => t.crumbs.map((s) => s.crumb.id)),
          forward.threads.map((t) => t.crumbs.map((s) => s.crumb.id)).filter((ids) => !ids.includes(19) || ids.length > 3),
        );
        assert.equal(answer.lockups[0]?.verdict, 'agrees');
      }
    });
  }
});

describe('the backward scan stops as soon as it can', async () => {
  const { manifest } = await demo();
  const isOurs = (tag: string) => tag === manifest.tag;

  function scan(text: string, trail: number, chunk = 100) {
    const scanner = new TailScanner({ isOurs, trail, slackBytes: 1000 });
    let lowest = text.length;
    for (let end = text.length; end > 0; end -= chunk) {
      const start = Math.max(0, end - chunk);
      lowest = start;
      if (scanner.pushBack(text.slice(start, end), start)) break;
    }
    return { ...scanner.result(), lowest };
  }

  it('at the boot that holds the last breadcrumb', () => {
    const old = render(merge(...Array.from({ length: 500 }, (_, i) => crumbs('kq7x', [17], 0, i))), 'console');
    const boot = render(merge([say(BOOT_LINE, 0)], crumbs('kq7x', [5, 6, 9], 0, 1)), 'console');
    const r = scan(old + boot, 10);
    assert.equal(r.stop, 'boot');
    assert.equal(r.regionStart, old.length);
    assert.ok(r.lowest > old.length - 200, 'read only the last boot');
  });

  it('at a boot that only shows as the clock going back to 0 (no Linux version line)', () => {
    const old = render(merge(...Array.from({ length: 500 }, (_, i) => crumbs('kq7x', [17], 0, 100 + i))), 'console');
    const noise = [say('early noise', 0.2), say('more noise', 0.6), say('late noise', 1.2), say('later noise', 3)];
    const boot = render(merge(noise, crumbs('kq7x', [5, 6, 9], 0, 1.5)), 'console');
    const r = scan(old + boot, 10);
    assert.equal(r.stop, 'boot');
    // the restart shows between two lines: the region starts at the earlier one, the forward pass splits them
    const lastOldLine = old.lastIndexOf('\n', old.length - 2) + 1;
    assert.equal(r.regionStart, lastOldLine);
    assert.ok(r.lowest > old.length - 200, 'read only the last boot');
  });

  it('when every thread has its trail', () => {
    const many = render(merge(...Array.from({ length: 2000 }, (_, i) => crumbs('kq7x', [2, 3], i % 2, 10 + i * 0.01))), 'console');
    const r = scan(many, 4);
    assert.equal(r.stop, 'trail');
    assert.ok(r.lowest > many.length - 2000, `read ${many.length - r.lowest} bytes`);
  });

  it('through the whole file when the only breadcrumb is at its start', () => {
    const text = render([...crumbs('kq7x', [5], 0, 1), ...Array.from({ length: 3000 }, (_, i) => say(`tick ${i}`, 2 + i))], 'console');
    const r = scan(text, 10);
    assert.equal(r.lastCrumbOffset, 0);
    assert.equal(r.regionStart, 0);
    assert.equal(r.stop, 'start');
  });

  it('finds nothing in a log without breadcrumbs of ours, and counts foreign tags', () => {
    const r = scan(render(crumbs('kzzz', [1, 2], 0, 1), 'console'), 10);
    assert.equal(r.lastCrumbOffset, undefined);
    assert.equal(r.unknownTags.get('kzzz'), 2);
  });

  it('cuts a line longer than the line limit instead of holding it whole', () => {
    const text = `${'x'.repeat(300000)}kq7x#5@0\n`;
    const r = scan(text, 10, 4096);
    assert.equal(r.lastCrumbOffset, 0);
  });
});
