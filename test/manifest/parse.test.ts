/** Reading a manifest: the versions this kcrumb reads, and what it says of the others. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/manifest/parse.js';
import { MANIFEST_VERSION, OLDEST_READABLE_VERSION } from '../../src/manifest/schema.js';
import { KcrumbError } from '../../src/errors.js';

const HASH = '0'.repeat(64);
const manifest = (version: number) =>
  JSON.stringify({ schema: 'kcrumb-manifest', version, tag: 'kq7x', level: 'every-line', root: '.', files: [{ path: 'a.c', originalSha256: HASH, instrumentedSha256: HASH }], functions: [], skipped: [], crumbs: [] });

describe('manifest versions', () => {
  it('reads its own version', () => {
    assert.equal(parseManifest(manifest(MANIFEST_VERSION), 'm.json').version, MANIFEST_VERSION);
  });

  it('refuses an older one for its breadcrumbs, saying to strip and instrument again', () => {
    assert.throws(
      () => parseManifest(manifest(1), 'm.json'),
      (e: KcrumbError) => /m\.json: manifest version 1 was written by an older kcrumb/.test(e.message) && /strip.*instrument them again/.test(e.hint ?? ''),
    );
  });

  it('still reads an older one for its files (what strip needs)', () => {
    assert.equal(parseManifest(manifest(1), 'm.json', OLDEST_READABLE_VERSION).version, 1);
  });

  it('reads version 2, its deferred-work bindings taken from the selection reasons it recorded them in', () => {
    const reason = '.end_io = remap_end_io -> queue_work(sync_work) -> remap_sync_work; .dtr = remap_dtr -> kthread_run(remap_thread) -> remap_thread';
    const v2 = JSON.parse(manifest(2));
    v2.functions = [{ name: 'remap_sync_work', file: 0, line: 7, endLine: 9, reason }];
    assert.deepEqual(parseManifest(JSON.stringify(v2), 'm.json').deferred, [
      { call: 'queue_work', runs: 'work', member: 'sync_work', handler: 'remap_sync_work', file: 0, line: 7 },
      { call: 'kthread_run', runs: 'thread', member: 'remap_thread', handler: 'remap_thread', file: 0, line: 7 },
    ]);
  });

  it('checks the deferred-work bindings of version 3', () => {
    const v3 = JSON.parse(manifest(3));
    v3.deferred = [{ call: 'INIT_WORK', runs: 'work', member: 'w', handler: 'h', file: 1, line: 3 }];
    assert.throws(() => parseManifest(JSON.stringify(v3), 'm.json'), /deferred\[0\]\.file is 1: there are 1 files/);
  });

  it('refuses a newer one', () => {
    assert.throws(() => parseManifest(manifest(MANIFEST_VERSION + 1), 'm.json', OLDEST_READABLE_VERSION), /newer than this kcrumb's/);
  });
});
