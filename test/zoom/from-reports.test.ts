/**
 * kcrumb zoom LOG FILES... on a log of an uninstrumented module: the functions of the kernel reports'
 * stacks that FILES define get breadcrumbs at every line, under a new manifest; locate-freeze then reads
 * that run. Nothing is written when no stack function is in the files.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const EXAMPLE = join(REPO, 'examples', 'dm-remap');
/** The paging-request fixture, its frames renamed to functions of the example. */
const OOPS = readFileSync(join(REPO, 'test', 'fixtures', 'reports', 'paging-request-memset', 'log'), 'latin1')
  .replaceAll('write_metadata_copy', 'remap_sync_metadata')
  .replaceAll('remap_meta_work', 'remap_presuspend');

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-zoom-reports-'));
  for (const f of readdirSync(EXAMPLE).filter((f) => /\.[ch]$/.test(f))) cpSync(join(EXAMPLE, f), join(dir, f));
  writeFileSync(join(dir, 'oops.log'), OOPS, 'latin1');
  return dir;
}

describe('kcrumb zoom LOG FILES (no breadcrumbs in the log)', () => {
  it('instruments the stack functions the files define, at every line', async () => {
    const dir = tree();
    const run = await runCli(['zoom', '--tag', 'kzr1', 'oops.log', 'dm-remap-target.c', 'dm-remap-metadata.c'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /the kernel reported BUG: unable to handle kernel paging request in remap_sync_metadata/);
    const manifest = JSON.parse(readFileSync(join(dir, '.kcrumb', 'kzr1.json'), 'utf8')) as { level: string; functions: { name: string }[] };
    assert.equal(manifest.level, 'every-line');
    assert.deepEqual(manifest.functions.map((f) => f.name).sort(), ['remap_presuspend', 'remap_sync_metadata']);
    assert.match(readFileSync(join(dir, 'dm-remap-metadata.c'), 'latin1'), /kzr1#/);
  });

  it('writes nothing when no stack function is in the files (exit 1)', async () => {
    const dir = tree();
    writeFileSync(join(dir, 'oops.log'), OOPS.replaceAll('remap_sync_metadata', 'other_fn').replaceAll('remap_presuspend', 'other_work'), 'latin1');
    const before = readFileSync(join(dir, 'dm-remap-metadata.c'), 'latin1');
    const run = await runCli(['zoom', 'oops.log', 'dm-remap-metadata.c'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is defined in the given files: nothing instrumented/);
    assert.equal(readFileSync(join(dir, 'dm-remap-metadata.c'), 'latin1'), before);
  });
});
