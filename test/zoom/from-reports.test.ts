/**
 * kcrumb zoom LOG FILES... on a log of an uninstrumented module: the functions of the kernel reports'
 * stacks that FILES define, and the functions of the default selection path that call or queue them, get
 * breadcrumbs at every line under a new manifest. Real captured logs of the example, their breadcrumb lines
 * taken out. Nothing is written when no stack function is in the files.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findCrumbs } from '../../src/breadcrumb.js';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const EXAMPLE = join(REPO, 'examples', 'dm-remap');

/** A captured log of the example with its breadcrumb lines taken out: what the uninstrumented module prints. */
function withoutBreadcrumbs(captured: string): string {
  const log = readFileSync(join(EXAMPLE, 'captured', captured), 'latin1');
  return log.split('\n').filter((line) => findCrumbs(line).length === 0).join('\n');
}

function tree(log: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-zoom-reports-'));
  for (const f of readdirSync(EXAMPLE).filter((f) => /\.[ch]$/.test(f))) cpSync(join(EXAMPLE, f), join(dir, f));
  writeFileSync(join(dir, 'bare.log'), log, 'latin1');
  return dir;
}

interface ZoomJson {
  reports: string[];
  functions: { name: string; role: string; reason: string; crumbs: number }[];
}

describe('kcrumb zoom LOG FILES (no breadcrumbs in the log)', () => {
  it('hung tasks: the stack functions the files define, and the caller on the default path that queued the work item', async () => {
    const dir = tree(withoutBreadcrumbs('hang-sync.serial.log'));
    const run = await runCli(['zoom', '--tag', 'kzr1', 'bare.log', 'dm-remap-target.c', 'dm-remap-metadata.c'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /the kernel reported INFO: task hung in remap_sync_work/);
    assert.match(run.stdout, /remap_pending_copy_io .*caller: leads to remap_sync_work\(\) \(.*queue_work\(sync_work\) -> remap_sync_work\)/);
    assert.match(run.stdout, /in 2 function\(s\) of the reports' stacks and 1 caller\(s\) on the default path/);
    const manifest = JSON.parse(readFileSync(join(dir, '.kcrumb', 'kzr1.json'), 'utf8')) as { level: string; functions: { name: string; reason: string }[] };
    assert.equal(manifest.level, 'every-line');
    assert.deepEqual(manifest.functions.map((f) => f.name).sort(), ['remap_dtr', 'remap_pending_copy_io', 'remap_sync_work']);
    assert.match(manifest.functions.find((f) => f.name === 'remap_dtr')!.reason, /^zoom from the kernel's reports: on the stack of INFO: task hung in remap_dtr$/);
    assert.match(readFileSync(join(dir, 'dm-remap-metadata.c'), 'latin1'), /kzr1#/);
  });

  it('an oops in a work item nothing on the default path queues: its frame only', async () => {
    const dir = tree(withoutBreadcrumbs('oops-page.serial.log'));
    const run = await runCli(['zoom', '--json', '--dry-run', 'bare.log', 'dm-remap-target.c', 'dm-remap-metadata.c'], dir);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as ZoomJson;
    assert.deepEqual(json.reports, ['BUG: unable to handle kernel paging request in remap_table_copy_work']);
    assert.deepEqual(json.functions.map((f) => [f.name, f.role]), [['remap_table_copy_work', 'frame']]);
  });

  it('a stall in the teardown: the callers of its frame on the default path come too, each saying why', async () => {
    const dir = tree(withoutBreadcrumbs('remove-one-remap.serial.log'));
    const run = await runCli(['zoom', '--json', '--dry-run', 'bare.log', 'dm-remap-target.c', 'dm-remap-metadata.c'], dir);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as ZoomJson;
    const dtr = json.functions.find((f) => f.name === 'remap_dtr');
    assert.equal(dtr?.role, 'caller');
    assert.match(dtr!.reason, /^calls remap_sync_metadata\(\), on the default path: struct target_type remap_target: \.dtr = remap_dtr$/);
    assert.equal(json.functions.find((f) => f.name === 'remap_sync_metadata')?.role, 'frame');
    assert.ok(!json.functions.some((f) => f.name === 'remap_lookup'), 'a function of the path that calls no frame stays out');
  });

  it('writes nothing when no stack function is in the files (exit 1)', async () => {
    // remap_table_copy_work is in dm-remap-metadata.c, and nothing of dm-remap-target.c's default path queues it
    const dir = tree(withoutBreadcrumbs('oops-page.serial.log'));
    const before = readFileSync(join(dir, 'dm-remap-target.c'), 'latin1');
    const run = await runCli(['zoom', 'bare.log', 'dm-remap-target.c'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is defined in the given files: nothing instrumented/);
    assert.equal(readFileSync(join(dir, 'dm-remap-target.c'), 'latin1'), before);
  });
});
