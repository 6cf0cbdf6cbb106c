/**
 * Properties of the report parser on any input: random bytes never throw and invent no report, a log cut
 * at any byte keeps the reports begun before the cut (with the same kind), two CPUs' reports interleaved
 * line by line keep their own frames when the log has caller ids, and the work (regex calls) is linear in the log.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { reportsIn } from './helpers.js';

const DIR = join(REPO, 'test', 'fixtures', 'reports');
const fixture = (name: string) => readFileSync(join(DIR, name, 'log'), 'latin1');

/** Deterministic bytes (xorshift), so a failure can be replayed. */
function randomBytes(n: number, seed: number): string {
  let x = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += String.fromCharCode((x >>> 0) % 256);
  }
  return out;
}

describe('report parser properties', () => {
  it('random bytes: no throw, no report', () => {
    for (let seed = 1; seed <= 40; seed++) assert.deepEqual(reportsIn(randomBytes(4096, seed)), []);
  });

  it('truncated at every offset: the reports begun before the cut, of the same kinds', () => {
    const log = fixture('paging-request-memset');
    const whole = reportsIn(log);
    for (let cut = 0; cut <= log.length; cut++) {
      const part = reportsIn(log.slice(0, cut));
      const begun = whole.filter((r) => r.offset + r.header.length <= cut);
      assert.ok(part.length >= begun.length, `cut at ${cut}`);
      assert.deepEqual(part.slice(0, begun.length).map((r) => r.kind), begun.map((r) => r.kind), `cut at ${cut}`);
      for (const r of part) assert.equal(typeof r.title, 'string');
    }
  });

  it('a report cut in the middle of its call trace is still titled from what it has', () => {
    const log = fixture('warning-map').split('\n').slice(0, 9).join('\n');
    assert.equal(reportsIn(log)[0].title, 'WARNING in remap_map');
  });

  it('two CPUs\' reports interleaved line by line, with caller ids', () => {
    const tag = (name: string, caller: string) =>
      fixture(name).split('\n').filter(Boolean).map((line) => line.replace(/^(\[\s*[\d.]+\])/, `$1[${caller}]`));
    const a = tag('null-deref-work', '    T57');
    const b = tag('kernel-bug-dtr', '   T301');
    const mixed: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) mixed.push(...(a[i] ? [a[i]] : []), ...(b[i] ? [b[i]] : []));
    const reports = reportsIn(mixed.join('\n'));
    assert.deepEqual(reports.map((r) => r.title), [
      'BUG: unable to handle kernel NULL pointer dereference in remap_null_work',
      'kernel BUG in remap_dtr',
    ]);
    assert.deepEqual(reports.map((r) => [r.cpus, r.pid]), [[[1], 57], [[0], 301]]);
    assert.equal(reports.some((r) => r.nested), false);
  });

  it('linear: 4 times the log costs 4 times the work (regex calls counted, not time)', () => {
    const log = fixture('soft-lockup') + '\n' + fixture('lockdep-circular') + '\n' + fixture('rcu-stall-self-pick') + '\n';
    const work = (n: number) => {
      const { exec, test } = RegExp.prototype;
      let calls = 0;
      RegExp.prototype.exec = function (this: RegExp, s: string) {
        calls++;
        return exec.call(this, s);
      };
      RegExp.prototype.test = function (this: RegExp, s: string) {
        calls++;
        return test.call(this, s);
      };
      try {
        reportsIn(log.repeat(n));
      } finally {
        Object.assign(RegExp.prototype, { exec, test });
      }
      return calls;
    };
    const small = work(20);
    const large = work(80);
    assert.ok(large <= small * 4 * 1.05, `20 copies: ${small} regex calls, 80 copies: ${large}`);
    assert.ok(large >= small * 4 * 0.95, `the work grows with the log: ${small} -> ${large}`);
  });

  it('memory stays bounded: the first and the last reports are kept', () => {
    const reports = reportsIn(fixture('null-deref-work').repeat(200));
    assert.ok(reports.length <= 64);
    assert.equal(reports[0].lineNumber, 1);
  });
});
