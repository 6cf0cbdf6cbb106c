/**
 * Fixture folders, Babel style: test/fixtures/instrument/<construct>/ holds input.c, the expected
 * output at each level (every-line.c, branches.c, functions.c) and an optional options.json:
 *   { "functions": ["*"], "hooks": [...], "depth": 1, "skipped": ["fn"], "throws": "message part" }
 *   "loopLimit": 2 (--loop-limit), "reasons": { "fn": "part of why fn was selected" }, "notSelected": ["fn"],
 *   "sink": "ring" (--sink ring), "sink": "ring-task" (--sink ring --task-id)
 * Without options.json every function is instrumented. A missing expected file is written on the first
 * run; OVERWRITE=1 rewrites mismatches. A folder whose name starts with "." is disabled.
 * Every case also checks the invariants: strip gives back the input byte for byte, no line moves, the
 * output re-parsed has every breadcrumb as a statement of a block before the statement it names
 * (support/check-placement.ts), and no more ERROR nodes than the input.
 * A folder with a `gap` file is a known gap (Coccinelle's *_failure cases): `gap` says what kcrumb should
 * do; the case passes while some check of its input still fails at some level (its expect: comments, above
 * all), and fails, to be noticed, once every level passes: then delete `gap` and let it write its expected files.
 * A line of input.c that ends in a comment `/* expect: loop irqs-off *\/` says what the manifest records for
 * the breadcrumb on that line (loop, and the context); in a file with such comments, a breadcrumb on a
 * line without one must record neither; at every-line, a line whose comment says `loop` must have one.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Level } from '../../src/manifest/schema.js';
import type { Template } from '../../src/breadcrumb.js';
import { RING_TASK_TEMPLATE, RING_TEMPLATE } from '../../src/instrument/template.js';
import { stripBreadcrumbs } from '../../src/strip/strip.js';
import { instrumentForTest, PRINTK_TEMPLATE, REPO } from '../support/instrument-text.js';
import { checkPlacement, errorCount } from '../support/check-placement.js';

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
  sink?: 'ring' | 'ring-task';
}

const SINK_TEMPLATES: Record<'ring' | 'ring-task', Template> = { ring: RING_TEMPLATE, 'ring-task': RING_TASK_TEMPLATE };

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
    const gapPath = join(dir, 'gap');
    const gap = existsSync(gapPath) ? readFileSync(gapPath, 'utf8').trim() : undefined;
    const gapChecks: { level: Level; check: () => Promise<void> }[] = [];
    for (const level of LEVELS) {
      const check = async () => {
        const result = await instrumentForTest([{ path: 'input.c', text: input }], {
          level,
          functions,
          hooks: options.hooks,
          depth: options.depth,
          loopLimit: options.loopLimit,
          ...(options.sink ? { template: SINK_TEMPLATES[options.sink] } : {}),
        });
        const output = result.outputs[0]?.text ?? input;
        const expectedPath = join(dir, `${level}.c`);
        // A known gap has no expected files yet: what kcrumb writes there is not what it should.
        if (!gap) {
          // A missing expected file is written on a developer's first run; in CI it is a failure, not a pass.
          if (!existsSync(expectedPath) && process.env.CI) assert.fail(`${name}/${level}.c is missing: run the tests locally and commit it`);
          if (!existsSync(expectedPath) || OVERWRITE) writeFileSync(expectedPath, output, 'latin1');
          assert.equal(output, readFileSync(expectedPath, 'latin1'), `${name}/${level}.c differs (OVERWRITE=1 to accept)`);
        }
        assert.equal(stripBreadcrumbs(output, [options.sink ? SINK_TEMPLATES[options.sink] : PRINTK_TEMPLATE]).text, input, 'strip does not give back the input');
        assert.equal(output.split('\n').length, input.split('\n').length, 'a line moved');
        if (result.outputs.length > 0) {
          assert.deepEqual(await checkPlacement(output, result.manifest, 0), [], 'placement in the re-parsed output');
          assert.ok((await errorCount(output)) <= (await errorCount(input)), 'the output parses with more ERROR nodes than the input');
        }
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
        // at every line, a statement the comment says is in a loop has its breadcrumb there
        for (const [line, tag] of level === 'every-line' && tags ? tags : []) {
          if (tag.split(' ').includes('loop')) assert.ok(result.manifest.crumbs.some((c) => c.line === line), `no breadcrumb on line ${line} (expect: ${tag})`);
        }
      };
      if (!gap) it(level, check);
      else gapChecks.push({ level, check });
    }
    if (gap) {
      it(`known gap: ${gap}`, async () => {
        const failing: Level[] = [];
        for (const { level, check } of gapChecks) if (await check().then(() => false, () => true)) failing.push(level);
        assert.ok(failing.length > 0, `known gap ${name} now passes at every level: delete its gap file and let the run write its expected files`);
      });
    }
  });
}
