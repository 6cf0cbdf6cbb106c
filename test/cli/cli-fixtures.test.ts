/**
 * CLI cases as folders (Babel's babel-cli fixtures): test/fixtures/cli/<case>/ holds
 *   files/     more files for the working directory the commands run in (a temp folder that starts with
 *              the files of test/fixtures/cli/.common/)
 *   steps.json [{ "args": [...], "exit": 0, "stdout": "text that must appear", "stderr": "...",
 *                 "stdoutExact": "whole stdout", "stdoutJson": { "key": "value" }, "error": "usage" }]
 *              `stdoutJson`: stdout is exactly one JSON document, with these top-level values
 *              `stdin`: a file of the working directory whose bytes the command reads as its stdin (for `-`)
 *              `error`: the step fails with this error code: stderr starts `kcrumb: error: `, and with --json
 *              stdout is `{ "error": { "code", "message", "hint"?, "exit" } }` with that code and the exit code
 *   after/     optional: the files that must exist with exactly this content afterwards
 *   unchanged  optional: an empty file saying the working directory must be byte for byte as it started
 *   restored   optional: the same for the files it started with, new files (a manifest) allowed
 *   sha256     optional: `sha256sum` lines (hash, two spaces, path) every one of which must hold before the
 *              first step and after the last: the sources a hostile case must leave alone
 * A step may also be `{ "sh": "..." }`: a shell command run in the working directory (make a symlink, a
 * FIFO, a read-only file) that must exit 0.
 * `<cwd>` in expected text stands for the temp folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli } from '../support/run-cli.js';

const ROOT = join(REPO, 'test', 'fixtures', 'cli');
const COMMON = join(ROOT, '.common');

interface Step {
  /** Either a command to run... */
  args: string[];
  exit: number;
  stdout?: string | string[];
  stderr?: string | string[];
  stdoutExact?: string;
  /** stdout is exactly one JSON document, with these top-level values. */
  stdoutJson?: Record<string, unknown>;
  stderrLines?: number;
  /** A file of the working directory fed to the command's stdin. */
  stdin?: string;
  /** The error code the step fails with (exit-codes.ts). */
  error?: string;
  /** ...or an edit a user makes between commands: replace `from` by `to` in file `edit`. */
  edit?: string;
  from?: string;
  to?: string;
  /** ...or a shell command that sets the scene. */
  sh?: string;
}

/** `sha256sum`-style lines of the fixture's `sha256` file, checked against the working directory. */
function checkHashes(fixture: string, cwd: string, when: string): void {
  const list = join(fixture, 'sha256');
  if (!existsSync(list)) return;
  for (const line of readFileSync(list, 'utf8').split('\n').filter(Boolean)) {
    const [hash, path] = line.split(/\s+\*?/);
    const actual = createHash('sha256').update(readFileSync(join(cwd, path))).digest('hex');
    assert.equal(actual, hash, `sha256 of ${path} ${when}`);
  }
}

/** Regular files below `dir` (a FIFO or symlink a step made is not read: it could block or point out). */
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    const stat = lstatSync(full);
    if (stat.isDirectory()) return listFiles(full).map((f) => join(name, f));
    return stat.isFile() ? [name] : [];
  });
}

/** A failing step reports its error in kcrumb's one format, and its code in --json. */
function checkError(step: Step, run: { stdout: string; stderr: string }, where: string): void {
  const internal = step.error === 'internal';
  assert.ok(run.stderr.startsWith(internal ? 'kcrumb: internal error: ' : 'kcrumb: error: '), `stderr does not start with kcrumb's error line in ${where}`);
  if (!step.args.includes('--json')) return;
  const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; exit: number } };
  assert.deepEqual({ code: error.code, exit: error.exit }, { code: step.error, exit: step.exit }, `--json error in ${where}`);
  assert.ok(run.stderr.includes(error.message), `the --json message is not the one on stderr in ${where}`);
}

describe('cli', () => {
  for (const name of readdirSync(ROOT).filter((n) => !n.startsWith('.')).sort()) {
    const dir = join(ROOT, name);
    it(name, async () => {
      const cwd = mkdtempSync(join(tmpdir(), `kcrumb-cli-${name}-`));
      cpSync(COMMON, cwd, { recursive: true });
      if (existsSync(join(dir, 'files'))) cpSync(join(dir, 'files'), cwd, { recursive: true });
      const started = new Map(listFiles(cwd).map((f) => [f, readFileSync(join(cwd, f))]));
      const steps: Step[] = JSON.parse(readFileSync(join(dir, 'steps.json'), 'utf8'));
      const fill = (s: string) => s.replaceAll('<cwd>', cwd);
      checkHashes(dir, cwd, 'before the steps');
      for (const [i, step] of steps.entries()) {
        if (step.sh) {
          execFileSync('sh', ['-c', step.sh], { cwd, stdio: 'pipe' });
          continue;
        }
        if (step.edit) {
          const file = join(cwd, step.edit);
          const text = readFileSync(file, 'latin1');
          assert.ok(text.includes(step.from!), `step ${i + 1}: ${step.edit} lacks ${step.from}`);
          writeFileSync(file, text.replace(step.from!, step.to!), 'latin1');
          continue;
        }
        const run = await runCli(step.args.map(fill), cwd, step.stdin === undefined ? undefined : readFileSync(join(cwd, step.stdin)));
        const where = `step ${i + 1} (kcrumb ${step.args.join(' ')})\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
        assert.equal(run.code, step.exit, `exit code of ${where}`);
        for (const want of [step.stdout ?? []].flat()) assert.ok(run.stdout.includes(fill(want)), `stdout lacks ${JSON.stringify(want)} in ${where}`);
        for (const want of [step.stderr ?? []].flat()) assert.ok(run.stderr.includes(fill(want)), `stderr lacks ${JSON.stringify(want)} in ${where}`);
        if (step.stdoutExact !== undefined) assert.equal(run.stdout, fill(step.stdoutExact), where);
        if (step.error !== undefined) checkError(step, run, where);
        if (step.stdoutJson !== undefined) {
          const document = JSON.parse(run.stdout) as Record<string, unknown>; // throws unless stdout is one JSON document
          for (const [key, value] of Object.entries(step.stdoutJson)) assert.deepEqual(document[key], value, `"${key}" in the JSON of ${where}`);
        }
        if (step.stderrLines !== undefined) assert.equal(run.stderr.trimEnd().split('\n').length, step.stderrLines, `stderr line count in ${where}`);
      }
      checkHashes(dir, cwd, 'after the steps');
      if (existsSync(join(dir, 'unchanged'))) assert.deepEqual(listFiles(cwd).sort(), [...started.keys()].sort(), 'files were added or removed');
      if (existsSync(join(dir, 'unchanged')) || existsSync(join(dir, 'restored'))) {
        for (const [f, bytes] of started) assert.ok(readFileSync(join(cwd, f)).equals(bytes), `${f} changed`);
      }
      if (existsSync(join(dir, 'after'))) {
        for (const f of listFiles(join(dir, 'after'))) {
          assert.equal(readFileSync(join(cwd, f), 'latin1'), readFileSync(join(dir, 'after', f), 'latin1'), `${relative(cwd, join(cwd, f))} after the steps`);
        }
      }
    });
  }
});
