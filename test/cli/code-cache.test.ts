// bin/kcrumb runs locate-freeze from dist/locate-freeze.cjs with V8's code cache (start-up is most of a
// small run): what it prints must be main()'s byte for byte, with no cache, with its own, with a corrupt
// one, and when the cache folder cannot be written. Needs the build (npm run build writes the bundle).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const LOG = join(REPO, 'examples/dm-remap/captured/remove-one-remap.serial.log');

function bin(cwd: string, cacheHome: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(REPO, 'bin', 'kcrumb'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('locate-freeze through the code cache', () => {
  it('prints what main() prints with no cache, its own cache, a corrupt one and an unwritable folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-code-cache-'));
    try {
      for (const name of ['dm-remap-target.c', 'dm-remap-metadata.c', 'dm-remap.h']) copyFileSync(join(REPO, 'examples/dm-remap', name), join(dir, name));
      assert.equal((await runCli(['instrument', '--tag', 'kdem', 'dm-remap-target.c', 'dm-remap-metadata.c'], dir)).code, 0);
      for (const args of [['locate-freeze', LOG], ['locate-freeze', '--json', LOG]]) {
        const expected = await runCli(args, dir);
        assert.match(expected.stdout, /dm-remap-metadata\.c/);
        const cacheHome = join(dir, `cache-${args.length}`);
        assert.deepEqual(bin(dir, cacheHome, ...args), { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, 'no cache yet');
        const cacheDir = join(cacheHome, 'kcrumb', 'code-cache');
        const [cache] = readdirSync(cacheDir);
        assert.match(cache, /-locate-freeze\.bin$/);
        assert.deepEqual(bin(dir, cacheHome, ...args), { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, 'its own cache');
        writeFileSync(join(cacheDir, cache), 'not a code cache');
        assert.deepEqual(bin(dir, cacheHome, ...args), { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, 'a corrupt cache');
        const unwritable = join(dir, 'a-file');
        writeFileSync(unwritable, '');
        assert.deepEqual(bin(dir, unwritable, ...args), { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, 'cache folder under a file');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
