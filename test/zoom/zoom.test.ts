import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { Manifest, ManifestCrumb } from '../../src/manifest/schema.js';
import type { Sighting } from '../../src/locate/threads.js';
import { openFunctions } from '../../src/zoom/targets.js';
import { runCli } from '../support/run-cli.js';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', 'examples', 'dm-remap');

function sighting(fn: string, kind: ManifestCrumb['kind'], id = 1): Sighting {
  const crumb: ManifestCrumb = { id, file: 0, line: 1, column: 1, function: fn, kind, statement: '', next: [] };
  return { manifest: 0, crumb, tag: 'kabc', cpu: 0, thread: 'CPU0', offset: 0, text: '' };
}

describe('openFunctions: calls and returns replayed from a trail', () => {
  it('entries push, returns pop, the innermost open function is last', () => {
    const trail = [sighting('a', 'entry'), sighting('b', 'entry'), sighting('b', 'return'), sighting('c', 'entry')];
    assert.deepEqual(openFunctions(trail), { stack: ['a', 'c'], returnedFrom: undefined });
  });
  it('a trail that begins inside a function, and recursion', () => {
    assert.deepEqual(openFunctions([sighting('a', 'branch'), sighting('b', 'entry'), sighting('b', 'entry'), sighting('b', 'exit')]).stack, ['a', 'b']);
  });
  it('a return whose caller the trail does not show', () => {
    assert.deepEqual(openFunctions([sighting('a', 'entry'), sighting('a', 'return')]), { stack: [], returnedFrom: 'a' });
    assert.deepEqual(openFunctions([sighting('x', 'return')]), { stack: [], returnedFrom: 'x' });
  });
});

/** examples/dm-remap instrumented at --level functions with tag kfun, in a fresh folder. */
async function coarseTree(): Promise<{ dir: string; manifest: Manifest }> {
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-zoom-'));
  for (const f of readdirSync(EXAMPLE).filter((name) => /\.[ch]$/.test(name))) cpSync(join(EXAMPLE, f), join(dir, f));
  const run = await runCli(['instrument', '--level', 'functions', '--tag', 'kfun', 'dm-remap-metadata.c', 'dm-remap-target.c'], dir);
  assert.equal(run.code, 0, run.stderr);
  return { dir, manifest: JSON.parse(readFileSync(join(dir, '.kcrumb', 'kfun.json'), 'utf8')) };
}

/** Breadcrumb number of `fn`'s entry in the coarse manifest. */
const entry = (m: Manifest, fn: string) => m.crumbs.find((c) => c.function === fn && c.kind === 'entry')!.id;

/** The teardown freeze as a functions-level run prints it: presuspend -> sync_metadata -> entry_flush, then nothing. */
function teardownLog(m: Manifest): string {
  const ids = [entry(m, 'remap_presuspend'), entry(m, 'remap_sync_metadata'), entry(m, 'remap_entry_flush')];
  return ['[    1.000000] Linux version 6.1.0-56-amd64', ...ids.map((id, i) => `[    2.00000${i}] kfun#${id}@0`), '[    5.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', ''].join('\n');
}

const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.c')).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));

describe('kcrumb zoom', () => {
  it('strips the coarse run and instruments only the function that froze, at every line', async () => {
    const { dir, manifest } = await coarseTree();
    writeFileSync(join(dir, 'coarse.log'), teardownLog(manifest));
    const run = await runCli(['zoom', '--tag', 'kzel', 'coarse.log'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^kcrumb: the freeze sits in 1 function\(s\) \(from run kfun, level functions, last breadcrumb #\d+ on CPU0\):$/m);
    assert.match(run.stdout, /^ {2}dm-remap-metadata\.c:35 {2}remap_entry_flush {2}CPU0 \(the answer\) stopped in it after #\d+ \(entry\)$/m);
    assert.match(run.stdout, /kcrumb: next: rebuild/);
    const fine = JSON.parse(readFileSync(join(dir, '.kcrumb', 'kzel.json'), 'utf8')) as Manifest;
    assert.equal(fine.level, 'every-line');
    assert.deepEqual(fine.functions.map((f) => f.name), ['remap_entry_flush']);
    assert.match(fine.functions[0].reason, /^zoom from kfun: CPU0/);
    assert.ok(fine.crumbs.some((c) => c.line === 46), 'a breadcrumb before the line that hangs');
    const files = snapshot(dir);
    assert.doesNotMatch(files['dm-remap-target.c'], /\/\*<kc\*\//, 'the other file is back to the original');
    assert.equal(files['dm-remap-target.c'], readFileSync(join(EXAMPLE, 'dm-remap-target.c'), 'latin1'));
    assert.doesNotMatch(files['dm-remap-metadata.c'], /"kfun#/);
    assert.match(files['dm-remap-metadata.c'], /"kzel#1@/);

    // the fine log names the line; zooming it again is refused, and so is zooming the coarse log twice
    writeFileSync(join(dir, 'fine.log'), `[    1.0] kzel#${fine.crumbs.find((c) => c.line === 46)!.id}@0\n`);
    const located = await runCli(['locate-freeze', 'fine.log'], dir);
    assert.match(located.stdout, /^dm-remap-metadata\.c:46:\d+: note: last breadcrumb/);
    const again = await runCli(['zoom', 'fine.log'], dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^kcrumb: error: the log is from an every-line run \(tag kzel\): it already names the line/);
    const twice = await runCli(['zoom', 'coarse.log'], dir);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /dm-remap-metadata\.c now holds the breadcrumbs of run kzel, not of kfun/);
  });

  it('refuses files edited since instrumenting, and writes nothing', async () => {
    const { dir, manifest } = await coarseTree();
    writeFileSync(join(dir, 'coarse.log'), teardownLog(manifest));
    const edited = readFileSync(join(dir, 'dm-remap-target.c'), 'latin1').replace('#include', '// edited\n#include');
    writeFileSync(join(dir, 'dm-remap-target.c'), edited, 'latin1');
    const before = snapshot(dir);
    const run = await runCli(['zoom', 'coarse.log'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^kcrumb: error: dm-remap-target\.c changed since kcrumb instrument wrote it \(tag kfun\)/);
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(readdirSync(join(dir, '.kcrumb')), ['kfun.json']);
  });

  it('--dry-run --json says what it would do and writes nothing; a log without breadcrumbs exits 1', async () => {
    const { dir, manifest } = await coarseTree();
    writeFileSync(join(dir, 'coarse.log'), teardownLog(manifest));
    const before = snapshot(dir);
    const run = await runCli(['zoom', '--dry-run', '--json', 'coarse.log'], dir);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.from.tag, 'kfun');
    assert.deepEqual(json.functions.map((f: { name: string }) => f.name), ['remap_entry_flush']);
    assert.equal(json.manifest, null);
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(readdirSync(join(dir, '.kcrumb')), ['kfun.json']);

    writeFileSync(join(dir, 'empty.log'), '[    1.0] nothing of ours\n');
    const none = await runCli(['zoom', 'empty.log'], dir);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no breadcrumb of ours/);
  });

  it('a return into a caller that is not instrumented: says so, and zooms the thread that is still inside', async () => {
    const { dir, manifest } = await coarseTree();
    const ret = manifest.crumbs.find((c) => c.function === 'remap_map' && c.kind === 'return')!.id;
    const log = `[    1.0] kfun#${entry(manifest, 'remap_presuspend')}@1\n[    2.0] kfun#${entry(manifest, 'remap_map')}@0\n[    2.1] kfun#${ret}@0\n`;
    writeFileSync(join(dir, 'ret.log'), log);
    const run = await runCli(['zoom', '--dry-run', 'ret.log'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /remap_presuspend +CPU1 stopped in it after #\d+ \(entry\)/);
    assert.match(run.stdout, /remap_sync_metadata +CPU1 was about to call it/);
    assert.match(run.stdout, /CPU0 \(the answer\): last breadcrumb #\d+ is the return of remap_map\(\), whose caller has no breadcrumbs/);
  });
});
