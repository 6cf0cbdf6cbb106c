/**
 * kill -9 in the middle of a many-file run (the worker path): before, during and after the renames, and in
 * the middle of a strip. Whatever the moment, the next `kcrumb strip .` gives back every source byte for
 * byte and leaves no temporary file: the manifest is renamed into place before the first source, and every
 * run removes the temporary files a killed one left beside the files it touches.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const FIXTURES = join(REPO, 'test', 'fixtures', 'instrument');
const CLI = join(REPO, 'test', 'support', 'kcrumb-cli.ts');
const TSX = import.meta.resolve('tsx');
const COPIES = 4;

const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A tree of many C files (each fixture input, several times over), and the sha256 of each. */
function tree(): { cwd: string; hashes: Map<string, string> } {
  const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-kill-'));
  const hashes = new Map<string, string>();
  for (const name of readdirSync(FIXTURES).filter((n) => !n.startsWith('.')).sort()) {
    for (let copy = 0; copy < COPIES; copy++) {
      const file = `${name}-${copy}.c`;
      copyFileSync(join(FIXTURES, name, 'input.c'), join(cwd, file));
      hashes.set(file, hash(join(cwd, file)));
    }
  }
  return { cwd, hashes };
}

/** Every file below `dir`, depth first. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)).map((f) => join(e.name, f)) : [e.name]));
}

/**
 * Runs kcrumb in a child process and kills it with SIGKILL when `when` says so: after `delayMs`, or as soon
 * as the first file of the tree is replaced on disk (its inode changes: the renames have begun).
 */
function runAndKill(cwd: string, args: string[], when: { delayMs: number } | { firstRename: string }): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, stdio: 'ignore' });
    let timer: NodeJS.Timeout;
    if ('delayMs' in when) timer = setTimeout(() => child.kill('SIGKILL'), when.delayMs);
    else {
      const inode = statSync(join(cwd, when.firstRename)).ino;
      timer = setInterval(() => {
        try {
          if (statSync(join(cwd, when.firstRename)).ino !== inode) child.kill('SIGKILL');
        } catch {
          // between unlink and rename
        }
      }, 0);
    }
    child.on('exit', () => {
      clearTimeout(timer);
      clearInterval(timer);
      done();
    });
  });
}

/** How many sources hold breadcrumbs, and how many temporary files lie around: where the kill landed. */
function state(cwd: string, hashes: Map<string, string>): string {
  const instrumented = [...hashes.keys()].filter((f) => readFileSync(join(cwd, f), 'latin1').includes('kk9x#')).length;
  const temps = allFiles(cwd).filter((f) => f.endsWith('.tmp')).length;
  return `${instrumented}/${hashes.size} sources instrumented, ${temps} temporary files`;
}

async function assertRestored(cwd: string, hashes: Map<string, string>): Promise<void> {
  const strip = await runCli(['strip', '.'], cwd);
  assert.ok(strip.code === 0, `strip . exit ${strip.code}\n${strip.stdout}${strip.stderr}`);
  for (const [file, want] of hashes) assert.equal(hash(join(cwd, file)), want, `${file} is not restored byte for byte`);
  const debris = allFiles(cwd).filter((f) => f.endsWith('.tmp') || f.endsWith('run.lock'));
  assert.deepEqual(debris, [], 'temporary files or a lock left behind');
}

describe('kill -9 of a many-file run', () => {
  const instrument = ['instrument', '--functions', '*', '--tag', 'kk9x', '--jobs', '2', '.'];
  for (const delayMs of [300, 1500, 3000, 5000]) {
    it(`instrument killed after ${delayMs} ms, then strip .: every byte back, no temporary file`, async (t) => {
      const { cwd, hashes } = tree();
      t.after(() => rmSync(cwd, { recursive: true, force: true }));
      await runAndKill(cwd, instrument, { delayMs });
      t.diagnostic(state(cwd, hashes));
      await assertRestored(cwd, hashes);
    });
  }
  it('instrument killed as the first source is renamed (during the renames): strip . restores every file from the manifest', async (t) => {
    const { cwd, hashes } = tree();
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    await runAndKill(cwd, instrument, { firstRename: [...hashes.keys()].sort()[0] });
    t.diagnostic(state(cwd, hashes));
    assert.ok(readdirSync(join(cwd, '.kcrumb')).includes('kk9x.json'), 'the manifest is in place before the first source is renamed');
    const strip = await runCli(['strip'], cwd);
    assert.equal(strip.code, 0, strip.stderr);
    await assertRestored(cwd, hashes);
  });
  it('strip killed during its renames, then strip . again: every byte back', async (t) => {
    const { cwd, hashes } = tree();
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    const run = await runCli(instrument, cwd);
    assert.equal(run.code, 0, run.stderr);
    await runAndKill(cwd, ['strip'], { firstRename: [...hashes.keys()].sort()[0] });
    t.diagnostic(state(cwd, hashes));
    await assertRestored(cwd, hashes);
  });
});
