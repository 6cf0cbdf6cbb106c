/**
 * Fixture folders, Babel style: test/fixtures/instrument/<construct>/ holds input.c, the expected
 * output at each level (every-line.c, branches.c, functions.c) and an optional options.json:
 *   { "functions": ["*"], "hooks": [...], "depth": 1, "skipped": ["fn"], "throws": "message part" }
 *   "loopLimit": 2 (--loop-limit), "reasons": { "fn": "part of why fn was selected" }, "notSelected": ["fn"],
 *   "sink": "ring" (--sink ring)
 * Without options.json every function is instrumented. A missing expected file is written on the first
 * run; OVERWRITE=1 rewrites mismatches. A folder whose name starts with "." is disabled.
 * Every case also checks the invariants: strip gives back the input byte for byte, no line moves.
 * A line of input.c that ends in a comment `/* expect: loop irqs-off *\/` says what the manifest records for
 * the breadcrumb on that line (loop, and the context); in a file with such comments, a breadcrumb on a
 * line without one must record neither.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Level } from '../../src/manifest/schema.js';
import { RING_TEMPLATE } from '../../src/instrument/template.js';
import { stripBreadcrumbs } from '../../src/strip/strip.js';
import { instrumentForTest, PRINTK_TEMPLATE, REPO } from '../support/instrument-text.js';

const ROOT = join(REPO, 'test', 'fixtures', 'instrument');
const LEVELS: Level[] = ['every-line', 'branches', 'functions'];
const OVERWRITE = process.env.OVERWRITE === '1';

interface FixtureOptions {
  functions?: string[] | null;
  hooks?: string[];
  depth?: number;
  skipped?: string[];
  throws?: string;
  loopLimit?: number;
  reasons?: Record<string, string>;
  notSelected?: string[];
  sink?: 'ring';
}

const EXPECT_COMMENT = /\/\* expect:([\w\s-]*)\*\/\s*$/;

/** For each line with an `expect:` comment, the tags it names, sorted; undefined when the file has none. */
function expectedTags(input: string): Map<number, string> | undefined {
  const lines = input.split('\n');
  if (!lines.some((line) => EXPECT_COMMENT.test(line))) return undefined;
  const tags = new Map<number, string>();
  lines.forEach((line, i) => {
    const m = EXPECT_COMMENT.exec(line);
    if (m) tags.set(i + 1, m[1].trim().split(/\s+/).filter(Boolean).sort().join(' '));
  });
  return tags;
}

for (const name of readdirSync(ROOT).filter((n) => !n.startsWith('.')).sort()) {
  const dir = join(ROOT, name);
  const optionsPath = join(dir, 'options.json');
  const options: FixtureOptions = existsSync(optionsPath) ? JSON.parse(readFileSync(optionsPath, 'utf8')) : {};
  const inputPath = join(dir, 'input.c');
  if (!existsSync(inputPath)) throw new Error(`${dir}: fixture folder without input.c`);
  const input = readFileSync(inputPath, 'latin1');
  const functions = options.functions === null ? undefined : (options.functions ?? ['*']);

  describe(name, () => {
    if (options.throws) {
      it('is refused', async () => {
        await assert.rejects(instrumentForTest([{ path: 'input.c', text: input }], { level: 'every-line', functions, hooks: options.hooks }), (error: Error) =>
          error.message.includes(options.throws!),
        );
      });
      return;
    }
    for (const level of LEVELS) {
      it(level, async () => {
        const result = await instrumentForTest([{ path: 'input.c', text: input }], {
          level,
          functions,
          hooks: options.hooks,
          depth: options.depth,
          loopLimit: options.loopLimit,
          ...(options.sink === 'ring' ? { template: RING_TEMPLATE } : {}),
        });
        const output = result.outputs[0]?.text ?? input;
        const expectedPath = join(dir, `${level}.c`);
        // A missing expected file is written on a developer's first run; in CI it is a failure, not a pass.
        if (!existsSync(expectedPath) && process.env.CI) assert.fail(`${name}/${level}.c is missing: run the tests locally and commit it`);
        if (!existsSync(expectedPath) || OVERWRITE) writeFileSync(expectedPath, output, 'latin1');
        assert.equal(output, readFileSync(expectedPath, 'latin1'), `${name}/${level}.c differs (OVERWRITE=1 to accept)`);
        assert.equal(stripBreadcrumbs(output, [options.sink === 'ring' ? RING_TEMPLATE : PRINTK_TEMPLATE]).text, input, 'strip does not give back the input');
        assert.equal(output.split('\n').length, input.split('\n').length, 'a line moved');
        assert.deepEqual(result.skipped.map((s) => s.name).sort(), (options.skipped ?? []).sort(), 'skipped functions');
        for (const [name, reason] of Object.entries(options.reasons ?? {})) {
          const selected = result.selected.find((s) => s.name === name);
          assert.ok(selected, `${name} not selected`);
          assert.ok(selected.reason.includes(reason), `${name} selected because ${selected.reason}, expected ${reason}`);
        }
        for (const name of options.notSelected ?? []) assert.ok(!result.selected.some((s) => s.name === name), `${name} selected`);
        const tags = expectedTags(input);
        for (const crumb of tags ? result.manifest.crumbs : []) {
          const actual = [crumb.loop ? 'loop' : '', crumb.context ?? ''].filter(Boolean).sort().join(' ');
          assert.equal(actual, tags!.get(crumb.line) ?? '', `#${crumb.id} line ${crumb.line} (${crumb.statement})`);
        }
      });
    }
  });
}
