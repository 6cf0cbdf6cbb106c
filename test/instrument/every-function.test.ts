/**
 * No function vanishes silently: in every fixture's input.c, each function body (counted without the
 * parser, see support/count-bodies.ts) is instrumented or named as skipped under `--functions '*'`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { functionBodies, unaccountedBodies } from '../support/count-bodies.js';
import { instrumentForTest, REPO } from '../support/instrument-text.js';

const ROOTS = ['instrument', 'control-flow'].map((d) => join(REPO, 'test', 'fixtures', d));

it('every function body of every fixture is instrumented or named as skipped', async () => {
  let bodies = 0;
  const lost: string[] = [];
  for (const root of ROOTS) {
    for (const name of readdirSync(root).sort()) {
      const inputPath = join(root, name, 'input.c');
      if (!existsSync(inputPath)) continue;
      const text = readFileSync(inputPath, 'latin1');
      const count = functionBodies(text).length;
      if (count === 0) continue;
      bodies += count;
      const result = await instrumentForTest([{ path: 'input.c', text }], { level: 'every-line', functions: ['*'] });
      const { missing, extra } = unaccountedBodies(text, [...result.selected, ...result.skipped]);
      if (missing.length || extra.length) lost.push(`${name}: not accounted for ${missing.join(', ')}; reported but no body ${extra.join(', ')}`);
    }
  }
  assert.deepEqual(lost, []);
  assert.ok(bodies > 60, `only ${bodies} bodies counted in the fixtures`);
});

it('the counter sees through split headers and annotations', () => {
  const text = readFileSync(join(REPO, 'test', 'fixtures', 'instrument', 'split-header-config', 'input.c'), 'latin1');
  assert.deepEqual(functionBodies(text).map((b) => b.name), ['y_suspend', 'y_stop', 'y_trace', 'y_probe']);
  assert.deepEqual(functionBodies('int f(void) __acquires(l)\n{\n}\nmodule_exit(x)\nstatic int g(int a)\n{\n}\nstruct s { int a; };\nint t[] = { 1 };\n').map((b) => b.name), ['f', 'g']);
});
