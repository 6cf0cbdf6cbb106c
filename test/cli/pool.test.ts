/**
 * Many files go through worker threads (cli/instrument-runner.ts). The result must be exactly what the
 * single-thread core gives for the same files in the same order: same texts, same manifest.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { serializeManifest } from '../../src/manifest/serialize.js';
import { instrumentForTest, REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const FIXTURES = join(REPO, 'test', 'fixtures', 'instrument');

for (const jobs of [[], ['--jobs', '1'], ['--jobs', '3']]) {
  it(`instrumenting a folder on worker threads matches the single-thread result (${jobs.join(' ') || 'one per core'})`, async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-pool-'));
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    const names = readdirSync(FIXTURES).filter((n) => !n.startsWith('.')).sort();
    for (const name of names) copyFileSync(join(FIXTURES, name, 'input.c'), join(cwd, `${name}.c`));
    assert.ok(names.length >= 8, 'enough files for the pool');
    // In the order the CLI takes them: sorted by file name (`a-b.c` before `a.c`).
    const originals = names.map((name) => `${name}.c`).sort().map((path) => ({ path, text: readFileSync(join(cwd, path), 'latin1') }));

    const run = await runCli(['instrument', ...jobs, '--functions', '*', '--tag', 'kfix', '--json', '.'], cwd);
    assert.equal(run.code, 0, run.stderr);
    const expected = await instrumentForTest(originals, { level: 'every-line', functions: ['*'] });
    const text = readFileSync(join(cwd, '.kcrumb', 'kfix.json'), 'utf8');
    const manifest = JSON.parse(text);
    assert.deepEqual({ ...manifest, createdAt: 0, root: 0 }, { ...expected.manifest, createdAt: 0, root: 0 });
    // Streamed (breadcrumbs as they are numbered, functions through a spool file): the same bytes as one piece.
    assert.equal(text, serializeManifest({ ...expected.manifest, createdAt: manifest.createdAt, root: manifest.root }));
    for (const output of expected.outputs) assert.equal(readFileSync(join(cwd, output.path), 'latin1'), output.text, output.path);

    const strip = await runCli(['strip'], cwd);
    assert.equal(strip.code, 0, strip.stderr);
    for (const original of originals) assert.equal(readFileSync(join(cwd, original.path), 'latin1'), original.text, original.path);
  });
}

it('--jobs takes a positive count', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-pool-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  copyFileSync(join(FIXTURES, 'loop-limit', 'input.c'), join(cwd, 'a.c'));
  const run = await runCli(['instrument', '--jobs', '0', 'a.c'], cwd);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--jobs/);
  assert.equal(readFileSync(join(cwd, 'a.c'), 'latin1'), readFileSync(join(FIXTURES, 'loop-limit', 'input.c'), 'latin1'));
});

it('on worker threads too: --loop-limit, and scheduler files set aside whole', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-pool-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const names = readdirSync(FIXTURES).filter((n) => !n.startsWith('.')).sort();
  for (const name of names) copyFileSync(join(FIXTURES, name, 'input.c'), join(cwd, `${name}.c`));
  mkdirSync(join(cwd, 'kernel', 'sched'), { recursive: true });
  copyFileSync(join(FIXTURES, 'loop-limit', 'input.c'), join(cwd, 'kernel', 'sched', 'core.c'));
  const paths = [...names.map((name) => `${name}.c`), 'kernel/sched/core.c'].sort();
  const originals = paths.map((path) => ({ path, text: readFileSync(join(cwd, path), 'latin1') }));

  const run = await runCli(['instrument', '--functions', '*', '--tag', 'kfix', '--loop-limit', '3', '--json', '.'], cwd);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.deepEqual(summary.skippedFiles.map((f: { path: string }) => f.path), ['kernel/sched/core.c']);
  assert.equal(summary.loopLimit, 3);
  assert.ok(summary.loopCrumbs > 10 && summary.risky > 5, `${summary.loopCrumbs} loop and ${summary.risky} risky breadcrumbs`);
  const expected = await instrumentForTest(originals, { level: 'every-line', functions: ['*'], loopLimit: 3, root: cwd });
  const manifest = JSON.parse(readFileSync(join(cwd, '.kcrumb', 'kfix.json'), 'utf8'));
  // the same manifest, with the root recorded relative to the manifest's folder (.kcrumb/ -> ..)
  assert.deepEqual({ ...manifest, createdAt: 0 }, { ...expected.manifest, createdAt: 0, root: '..' });
  assert.equal(manifest.loopLimit, 3);
  for (const output of expected.outputs) assert.equal(readFileSync(join(cwd, output.path), 'latin1'), output.text, output.path);
  assert.equal(readFileSync(join(cwd, 'kernel/sched/core.c'), 'latin1'), readFileSync(join(FIXTURES, 'loop-limit', 'input.c'), 'latin1'));
});

it('on worker threads with --functions, a file that already holds breadcrumbs is refused and nothing is written', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-pool-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const names = readdirSync(FIXTURES).filter((n) => !n.startsWith('.')).sort();
  for (const name of names) copyFileSync(join(FIXTURES, name, 'input.c'), join(cwd, `${name}.c`));
  const once = await runCli(['instrument', '--functions', '*', '--tag', 'kon1', 'loop-limit.c'], cwd);
  assert.equal(once.code, 0, once.stderr);
  const before = names.map((name) => readFileSync(join(cwd, `${name}.c`), 'latin1'));
  const twice = await runCli(['instrument', '--functions', '*', '--tag', 'kon2', '.'], cwd);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(twice.stderr, /loop-limit\.c: already holds kcrumb breadcrumbs/);
  assert.deepEqual(names.map((name) => readFileSync(join(cwd, `${name}.c`), 'latin1')), before);
  assert.ok(!readdirSync(join(cwd, '.kcrumb')).includes('kon2.json'));
});
