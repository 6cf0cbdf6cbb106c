/** kcrumb hunt's refusals before anything runs: one line, exit 2, nothing written. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/run-cli.js';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', 'examples', 'dm-remap');

function example(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-hunt-input-'));
  cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

describe('kcrumb hunt refuses', () => {
  it('to run without QEMU, naming the Debian package', async () => {
    const dir = example();
    const path = process.env.PATH;
    const empty = mkdtempSync(join(tmpdir(), 'kcrumb-no-path-'));
    process.env.PATH = empty;
    try {
      const run = await runCli(['hunt', '--repro', 'repro/remove.sh'], dir);
      // the sbin folders are searched too, but QEMU lives in /usr/bin
      if (existsSync('/usr/sbin/qemu-system-x86_64') || existsSync('/sbin/qemu-system-x86_64')) return;
      assert.equal(run.code, 2);
      assert.equal(run.stderr, 'kcrumb: error: qemu-system-x86_64 is not installed\nkcrumb: hint: Debian: apt install qemu-system-x86\n');
    } finally {
      process.env.PATH = path;
    }
    assert.ok(!existsSync(join(dir, '.kcrumb')));
  });

  it('a missing script and a folder without Kbuild or Makefile', async () => {
    const dir = example();
    const missing = await runCli(['hunt', '--repro', 'nope.sh'], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^kcrumb: error: --repro nope\.sh: no such file$/m);
    const bare = mkdtempSync(join(tmpdir(), 'kcrumb-hunt-bare-'));
    writeFileSync(join(bare, 'x.c'), 'int x;\n');
    writeFileSync(join(bare, 'r.sh'), 'true\n');
    const noMakefile = await runCli(['hunt', '--repro', 'r.sh', 'x.c'], bare);
    assert.equal(noMakefile.code, 2);
    assert.match(noMakefile.stderr, /no Kbuild or Makefile in the folders holding x\.c/);
    assert.ok(!existsSync(join(bare, '.kcrumb')));
  });

  it('a kernel image that is not a bzImage', async () => {
    const dir = example();
    writeFileSync(join(dir, 'vmlinuz'), 'not a kernel');
    mkdirSync(join(dir, 'modules', 'kernel'), { recursive: true });
    const run = await runCli(['hunt', '--repro', 'repro/remove.sh', '--kernel', 'vmlinuz', '--kdir', dir, '--modules', 'modules'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^kcrumb: error: \S+vmlinuz: not an x86 bzImage \(no setup header\)$/m);
    assert.ok(!existsSync(join(dir, '.kcrumb')));
  });
});
