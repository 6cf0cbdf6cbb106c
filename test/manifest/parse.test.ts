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

  it('refuses a newer one', () => {
    assert.throws(() => parseManifest(manifest(MANIFEST_VERSION + 1), 'm.json', OLDEST_READABLE_VERSION), /newer than this kcrumb's/);
  });
});
