/**
 * Debian's real drivers/md (linux-source-6.1), every .c file:
 * - instrumenting every function at every level and stripping gives back each file byte for byte;
 * - re-parsing the instrumented text finds every breadcrumb where its manifest says (checkPlacement);
 * - under 1% of functions are skipped, each with a reason;
 * - the default selection finds the map/end_io/suspend/dtr hooks of every dm-*.c target.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import type { Level } from '../../src/manifest/schema.js';
import { stripBreadcrumbs } from '../../src/strip/strip.js';
import { checkPlacement } from '../support/check-placement.js';
import { instrumentForTest } from '../support/instrument-text.js';
import { needKernel } from '../support/kernel-env.js';

function cFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? cFiles(full) : name.endsWith('.c') ? [full] : [];
  });
}

/** The I/O-path, suspend and teardown hooks issue #2 names. */
const REQUIRED_HOOKS = ['map', 'clone_and_map_rq', 'end_io', 'rq_end_io', 'presuspend', 'presuspend_undo', 'postsuspend', 'dtr'];

describe('drivers/md of linux-source-6.1', () => {
  for (const level of ['every-line', 'branches', 'functions'] as Level[]) {
    it(`round trip and placement at ${level}, every function of every file`, async (t) => {
      const src = needKernel(t, 'linuxSrc');
      if (!src) return;
      const files = cFiles(join(src, 'drivers', 'md'));
      assert.ok(files.length >= 100, `expected the whole drivers/md, found ${files.length} .c files`);
      let functions = 0;
      const skipped: string[] = [];
      const misplaced: string[] = [];
      for (const path of files) {
        const text = readFileSync(path, 'latin1');
        const name = relative(src, path);
        if (!/^\s*[a-z_].*\(/m.test(text)) continue;
        const result = await instrumentForTest([{ path: name, text }], { level, functions: ['*'] }).catch((error: Error) => {
          if (error.message.includes('matches no function')) return undefined;
          throw error;
        });
        if (!result) continue;
        functions += result.selected.length + result.skipped.length;
        skipped.push(...result.skipped.map((s) => `${name}:${s.line} ${s.name}: ${s.reason}`));
        for (const output of result.outputs) {
          assert.ok(stripBreadcrumbs(output.text, name).text === text, `${name}: strip does not restore the original`);
          assert.equal(output.text.split('\n').length, text.split('\n').length, `${name}: line count changed`);
          if (level === 'every-line') misplaced.push(...(await checkPlacement(output.text, result.manifest, 0)).map((p) => `${name} ${p}`));
        }
      }
      assert.deepEqual(misplaced, [], 'breadcrumbs not where the manifest says');
      assert.ok(functions > 3000, `only ${functions} functions found`);
      const rate = skipped.length / functions;
      t.diagnostic(`${functions} functions, ${skipped.length} skipped (${(100 * rate).toFixed(2)}%)`);
      assert.ok(rate < 0.01, `skipped ${skipped.length} of ${functions}:\n${skipped.join('\n')}`);
    });
  }

  it('default selection starts from every target_type hook in each dm-*.c', async (t) => {
    const src = needKernel(t, 'linuxSrc');
    if (!src) return;
    const md = join(src, 'drivers', 'md');
    let targets = 0;
    for (const name of readdirSync(md).filter((n) => /^dm-.*\.c$/.test(n))) {
      const text = readFileSync(join(md, name), 'latin1');
      // The hooks, read with a plain regex over each `struct target_type x = { ... };` initializer.
      const initializers = [...text.matchAll(/struct target_type \w+ = \{([\s\S]*?)\n\};/g)].map((m) => m[1]).join('\n');
      const hooks = [...initializers.matchAll(/^\s*\.(\w+)\s*=\s*(\w+)\s*,/gm)].filter((m) => REQUIRED_HOOKS.includes(m[1]));
      if (hooks.length === 0) continue;
      targets++;
      const result = await instrumentForTest([{ path: name, text }], { level: 'functions' });
      const selected = new Set([...result.selected, ...result.skipped].map((s) => s.name));
      for (const [, hook, fn] of hooks) assert.ok(selected.has(fn), `${name}: .${hook} = ${fn} not selected`);
    }
    assert.ok(targets >= 20, `only ${targets} dm targets found`);
  });
});
