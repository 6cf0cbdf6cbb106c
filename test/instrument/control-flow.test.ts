/**
 * The worst bug kcrumb could have is a breadcrumb that changes control flow: one that becomes an iterator
 * macro's body, or lands outside the loop or branch it should be in. These programs use the kernel's
 * real iterator shapes (test/fixtures/control-flow/kernel-shim.h); each is compiled and run before and after
 * instrumenting every line, and:
 * - the program's own output must not change;
 * - every `mark(K)` statement got a breadcrumb, and each time `mark K` runs, its breadcrumb printed
 *   immediately before it: a breadcrumb outside the loop would print once for N marks, one that became
 *   the loop body would print N times before a single mark.
 * With --loop-limit N the same holds, except that a breadcrumb inside a loop prints min(N, runs) times:
 * before the first N runs of its mark and never after.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { instrumentForTest, REPO } from '../support/instrument-text.js';

const DIR = join(REPO, 'test', 'fixtures', 'control-flow');
const CRUMB_LINE = /^kfix#(\d+)@0$/;
const LIMIT = 2;

function compileAndRun(source: string, work: string, name: string): string[] {
  const c = join(work, `${name}.c`);
  writeFileSync(c, source, 'latin1');
  execFileSync('gcc', ['-Wall', '-Werror', '-Wdeclaration-after-statement', '-I', DIR, '-o', join(work, name), c]);
  return execFileSync(join(work, name), { encoding: 'utf8' }).trimEnd().split('\n');
}

describe('breadcrumbs keep control flow', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.c'))) {
    it(file, async () => {
      const work = mkdtempSync(join(tmpdir(), 'kcrumb-cf-'));
      copyFileSync(join(DIR, 'kernel-shim.h'), join(work, 'kernel-shim.h'));
      const original = readFileSync(join(DIR, file), 'latin1');
      const result = await instrumentForTest([{ path: file, text: original }], { level: 'every-line', functions: ['*'] });
      const before = compileAndRun(original, work, 'before');
      const after = compileAndRun(result.outputs[0].text, work, 'after');

      assert.deepEqual(after.filter((line) => !CRUMB_LINE.test(line)), before, 'program output changed');

      const markCrumbs = result.manifest.crumbs.filter((c) => /^mark\(\d+\);/.test(c.statement));
      const marks = new Set(before.filter((l) => l.startsWith('mark ')));
      assert.ok(markCrumbs.length >= marks.size, 'every mark statement that ran has a breadcrumb');
      for (const crumb of markCrumbs) {
        const k = /^mark\((\d+)\)/.exec(crumb.statement)![1];
        const crumbRuns = after.filter((line) => line === `kfix#${crumb.id}@0`).length;
        const markRuns = after.filter((line) => line === `mark ${k}`).length;
        assert.equal(crumbRuns, markRuns, `breadcrumb #${crumb.id} (line ${crumb.line}) ran ${crumbRuns} times, mark(${k}) ${markRuns} times`);
        after.forEach((line, i) => {
          if (line === `mark ${k}`) assert.equal(after[i - 1], `kfix#${crumb.id}@0`, `mark(${k}) at output line ${i} without its breadcrumb just before`);
        });
      }
    });

    it(`${file} with --loop-limit ${LIMIT}`, async () => {
      const work = mkdtempSync(join(tmpdir(), 'kcrumb-cf-'));
      copyFileSync(join(DIR, 'kernel-shim.h'), join(work, 'kernel-shim.h'));
      const original = readFileSync(join(DIR, file), 'latin1');
      const result = await instrumentForTest([{ path: file, text: original }], { level: 'every-line', functions: ['*'], loopLimit: LIMIT });
      const before = compileAndRun(original, work, 'before');
      const after = compileAndRun(result.outputs[0].text, work, 'after');
      assert.deepEqual(after.filter((line) => !CRUMB_LINE.test(line)), before, 'program output changed');

      const markCrumbs = result.manifest.crumbs.filter((c) => /^mark\(\d+\);/.test(c.statement));
      let limited = 0;
      for (const crumb of markCrumbs) {
        const k = /^mark\((\d+)\)/.exec(crumb.statement)![1];
        const crumbRuns = after.filter((line) => line === `kfix#${crumb.id}@0`).length;
        const marks = after.flatMap((line, i) => (line === `mark ${k}` ? [i] : []));
        const expected = crumb.loop ? Math.min(LIMIT, marks.length) : marks.length;
        if (crumb.loop && marks.length > LIMIT) limited++;
        assert.equal(crumbRuns, expected, `breadcrumb #${crumb.id} (line ${crumb.line}, loop ${Boolean(crumb.loop)}) ran ${crumbRuns} times, mark(${k}) ${marks.length} times`);
        marks.slice(0, expected).forEach((i) => assert.equal(after[i - 1], `kfix#${crumb.id}@0`, `mark(${k}) at output line ${i} without its breadcrumb`));
      }
      assert.ok(limited >= 2, `only ${limited} breadcrumbs hit the limit: the program does not exercise it`);
    });
  }
});
