/**
 * Property tests with a seeded PRNG: whatever the bytes, locate-freeze never throws and never answers with
 * a breadcrumb that is not in the manifest; where the right answer is known by brute force, it gives it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { findCrumbs } from '../../src/breadcrumb.js';
import { readLogArgument } from '../../src/cli/log-file.js';
import type { Answer } from '../../src/locate/locate.js';
import { locateFreeze } from '../../src/locate/locate.js';
import { CrumbResolver } from '../../src/locate/resolve.js';
import type { Manifest } from '../../src/manifest/schema.js';
import { demo, freezeScenario, locateText, prng, render, type Event } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kcrumb-props-'));
let fileCount = 0;

function assertSound(answer: Answer, manifest: Manifest): void {
  const ours = (c: unknown) => manifest.crumbs.includes(c as never);
  if (answer.status === 'none') {
    assert.equal(answer.last, undefined);
    return;
  }
  assert.ok(ours(answer.last!.crumb), 'answer is a manifest entry');
  for (const thread of answer.threads) for (const s of thread.crumbs) assert.ok(ours(s.crumb), 'trail entries are manifest entries');
  for (const next of answer.next) assert.ok(ours(next.crumb), 'next entries are manifest entries');
}

/** The last breadcrumb of ours in the text, by brute force over the whole text. */
function bruteLast(text: string, manifest: Manifest): number | undefined {
  let last: number | undefined;
  for (const line of text.replaceAll('\0', '').split('\n')) {
    for (const hit of findCrumbs(line)) if (hit.tag === manifest.tag && hit.id >= 1 && hit.id <= manifest.crumbs.length) last = hit.id;
  }
  return last;
}

async function backwards(text: string, manifest: Manifest, chunkBytes = 97): Promise<Answer> {
  const path = join(dir, `p${fileCount++}.log`);
  writeFileSync(path, Buffer.from(text, 'latin1'));
  const resolver = new CrumbResolver([manifest]);
  const { analysis, fromStart, toEnd } = await readLogArgument({ cwd: dir, stdin: Readable.from([]) }, path, resolver, 5, {
    wholeFileBytes: 0,
    chunkBytes,
    tailBytes: 4096,
  });
  return locateFreeze({ analysis, resolver, fromStart, toEnd });
}

describe('random bytes', async () => {
  const { manifest } = await demo();
  it('never crash, never answer outside the manifest, always find the last valid breadcrumb', async () => {
    const random = prng(42);
    for (let round = 0; round < 150; round++) {
      const parts: string[] = [];
      const length = Math.floor(random() * 4000);
      for (let i = 0; i < length; i++) {
        const r = random();
        if (r < 0.01) parts.push(`kq7x#${Math.floor(random() * 40)}@${Math.floor(random() * 4)}`);
        else if (r < 0.012) parts.push(`kzzz#${Math.floor(random() * 5)}@0`);
        else if (r < 0.05) parts.push('\n');
        else parts.push(String.fromCharCode(Math.floor(random() * 256)));
      }
      const text = parts.join('');
      const chunk = 1 + Math.floor(random() * 500);
      const forward = locateText(text, [manifest], { chunk });
      assertSound(forward, manifest);
      assert.equal(forward.last?.crumb.id, bruteLast(text, manifest), `round ${round}`);
      if (round % 5 === 0) {
        const back = await backwards(text, manifest, 1 + Math.floor(random() * 300));
        assertSound(back, manifest);
        assert.equal(back.last?.crumb.id, forward.last?.crumb.id, `round ${round} backwards`);
      }
    }
  });
});

describe('huge lines', async () => {
  const { manifest } = await demo();
  const big = 'A'.repeat(10 * 1024 * 1024);
  it('a 10 MB line with a breadcrumb at its end, between normal lines', async () => {
    const text = `[    1.000000] kq7x#5@0\n${big}kq7x#6@1\n[    2.000000] after\n`;
    const answer = locateText(text, [manifest]);
    assert.equal(answer.last?.crumb.id, 6);
    const back = await backwards(text, manifest, 65536);
    assert.equal(back.last?.crumb.id, 6);
  });
  it('a 10 MB last line without a newline, cut off by the freeze', async () => {
    const text = `[    1.000000] kq7x#5@0\n${big}`;
    assert.equal(locateText(text, [manifest], { chunk: 1 << 20 }).last?.crumb.id, 5);
    assert.equal((await backwards(text, manifest, 65536)).last?.crumb.id, 5);
  });
});

describe('time against line length', async () => {
  const { manifest } = await demo();
  const count = manifest.crumbs.length;
  /** `n` breadcrumbs on one line (glued console output), or each ended by a bare CR (a CR-only capture). */
  const log = (n: number, end: string) => Array.from({ length: n }, (_, i) => `kq7x#${1 + (i % count)}@0`).join(end) + '\n';
  const bestOf3 = (run: () => Answer) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      const answer = run();
      best = Math.min(best, Number(process.hrtime.bigint() - start));
      assert.equal(answer.status, 'found');
    }
    return best;
  };
  for (const [name, end] of [['one line of breadcrumbs', ' '], ['CR-only line ends', '\r']] as const) {
    it(`linear, ${name}: 8 times the length takes about 8 times as long (best of 3, 3x slack)`, () => {
      const small = log(4_000, end);
      const large = log(32_000, end);
      bestOf3(() => locateText(small, [manifest]));
      const t1 = bestOf3(() => locateText(small, [manifest]));
      const t8 = bestOf3(() => locateText(large, [manifest]));
      assert.ok(t8 < t1 * 8 * 3, `4,000 breadcrumbs: ${t1} ns, 32,000: ${t8} ns`);
      assert.equal(locateText(large, [manifest]).last?.crumb.id, 1 + ((32_000 - 1) % count));
    });
  }
  it('read from the end, a 2 MB line of breadcrumbs is answered with its last one', async () => {
    const text = log(200_000, " ");
    assert.equal((await backwards(text, manifest, 65536)).last?.crumb.id, 1 + ((200_000 - 1) % count));
  });
});

describe('interleaved CPUs', async () => {
  const { manifest } = await demo();
  it('each CPU keeps its own trail, the answer is the last printed', () => {
    const random = prng(7);
    const entries = manifest.crumbs.filter((c) => c.kind === 'entry').map((c) => c.id);
    for (let round = 0; round < 40; round++) {
      const cpus = 1 + Math.floor(random() * 8);
      const walks: number[][] = Array.from({ length: cpus }, () => []);
      const events: Event[] = [];
      let time = 1;
      for (let step = 0; step < 300; step++) {
        const cpu = Math.floor(random() * cpus);
        const walk = walks[cpu];
        const previous = walk.length ? manifest.crumbs[walk[walk.length - 1] - 1] : undefined;
        const choices = previous && previous.next.length ? previous.next : entries;
        const id = choices[Math.floor(random() * choices.length)];
        walk.push(id);
        time += random() * 0.001;
        events.push({ text: `kq7x#${id}@${cpu}`, time, cpu, level: 2 });
      }
      const answer = locateText(render(events, 'console'), [manifest], { trail: 7 });
      assertSound(answer, manifest);
      assert.equal(answer.last?.crumb.id, walks[events[events.length - 1].cpu].at(-1));
      for (const thread of answer.threads) {
        const cpu = Number(thread.key.slice(3));
        assert.deepEqual(thread.crumbs.map((s) => s.crumb.id), walks[cpu].slice(-8), `CPU ${cpu}`);
        assert.equal(thread.count, walks[cpu].length);
      }
    }
  });
});

describe('truncation at every offset', async () => {
  const { manifest } = await demo();
  it('every prefix of a log answers with the last breadcrumb it holds', async () => {
    const text = render(freezeScenario(), 'console-crlf-noise');
    for (let cut = 0; cut <= text.length; cut++) {
      const prefix = text.slice(0, cut);
      const answer = locateText(prefix, [manifest], { chunk: 61 });
      assertSound(answer, manifest);
      assert.equal(answer.last?.crumb.id, bruteLast(prefix, manifest), `cut at ${cut}`);
      if (cut % 13 === 0 && cut > 0) {
        const back = await backwards(prefix, manifest, 1 + (cut % 89));
        assert.equal(back.last?.crumb.id, answer.last?.crumb.id, `cut at ${cut}, backwards`);
      }
    }
  });
});
