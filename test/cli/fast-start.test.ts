// bin/kcrumb answers `--version` and `--help` itself, without the ESM loader or commander (start-up is
// all such a run costs): its answers must be byte for byte main()'s, which commander formats. Needs the
// build (npm run build writes dist/help.txt).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

function bin(...args: string[]) {
  const run = spawnSync(process.execPath, [join(REPO, 'bin', 'kcrumb'), ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('bin/kcrumb start-up answers', () => {
  for (const args of [['--version'], ['-V'], ['--help'], ['-h']]) {
    it(`${args[0]} prints exactly what main() prints`, async () => {
      const expected = await runCli(args, REPO);
      assert.equal(expected.code, 0);
      assert.ok(expected.stdout.length > 4, expected.stdout);
      assert.deepEqual(bin(...args), { code: 0, stdout: expected.stdout, stderr: '' });
    });
  }

  it('anything else goes to main(): a command\'s help, an unknown command', async () => {
    for (const args of [['locate-freeze', '--help'], ['nosuch'], ['--version', '--help']]) {
      const expected = await runCli(args, REPO);
      assert.deepEqual(bin(...args), { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, args.join(' '));
    }
  });
});
