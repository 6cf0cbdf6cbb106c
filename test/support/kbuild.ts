/**
 * Builds kernel C files as objects with Debian's kbuild (scripts/kernel-env.sh unpacks it), to check that
 * instrumented files compile with the same warnings as the originals.
 *
 *   const results = await compileObjects(dir, ['dm-zero.c', 'persistent-data/dm-btree.c']);
 *   results.get('dm-zero.c') // { built: true, warnings: ["dm-zero.c:42: warning: ... [-Wfoo]"], errors: [] }
 *
 * One `make -k -j2 -Otarget -C $HEADERS M=dir a.o b.o ...`: -k builds every file whatever fails, and
 * -Otarget prints each object's compiler output as one block after its `CC [M]` line, so every message is
 * attributed to the file being compiled (also when it comes from a header). KCFLAGS adds
 * -Wdeclaration-after-statement, which 6.1 does not pass but older and vendor kernels do.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { kernelEnv } from './kernel-env.js';

export interface ObjectResult {
  /** The .o file was produced. */
  built: boolean;
  /** `file:line: warning: text [-Wflag]`, with directories and columns stripped (see normaliseDiagnostic). */
  warnings: string[];
  /** Same form, for `error:` lines. */
  errors: string[];
}

export interface CompileOptions {
  /** linux-headers folder; default: KCRUMB_HEADERS from scripts/kernel-env.sh. */
  headers?: string;
  /** make -j; default 2. */
  jobs?: number;
  /** Added to KCFLAGS; default ['-Wdeclaration-after-statement']. */
  cflags?: string[];
  /** Kill make after this many ms; default 30 minutes. */
  timeoutMs?: number;
  /** Where the whole make output goes; default a temp file. */
  logFile?: string;
}

/**
 * Compiles `files` (paths relative to `dir`, `.c`) as kernel objects. Resolves to a result per file, in
 * the order given. Rejects only when make cannot run at all (no headers, timeout).
 * A folder holding a file gets an empty `Kbuild` if it has neither Kbuild nor Makefile (kbuild needs one).
 */
export async function compileObjects(dir: string, files: string[], options: CompileOptions = {}): Promise<Map<string, ObjectResult>> {
  const headers = options.headers ?? kernelEnv().headers;
  if (!headers || !existsSync(join(headers, 'Makefile'))) throw new Error('compileObjects: no kernel headers (run scripts/kernel-env.sh)');
  const root = resolve(dir);
  const objects = new Map<string, string>(); // absolute .o path -> file as given
  for (const file of files) {
    if (!file.endsWith('.c')) throw new Error(`compileObjects: not a .c file: ${file}`);
    const c = join(root, file);
    const folder = dirname(c);
    if (!existsSync(join(folder, 'Kbuild')) && !existsSync(join(folder, 'Makefile'))) writeFileSync(join(folder, 'Kbuild'), '');
    const o = c.slice(0, -2) + '.o';
    rmSync(o, { force: true });
    rmSync(join(folder, `.${o.slice(folder.length + 1)}.cmd`), { force: true });
    objects.set(o, file);
  }
  const logFile = options.logFile ?? join(mkdtempSync(join(tmpdir(), 'kcrumb-kbuild-')), 'make.log');
  const cflags = (options.cflags ?? ['-Wdeclaration-after-statement']).join(' ');
  const targets = [...objects.values()].map((f) => f.slice(0, -2) + '.o');
  await runMake(
    ['-k', `-j${options.jobs ?? 2}`, '-Otarget', '-C', headers, `M=${root}`, `KCFLAGS=${cflags}`, ...targets],
    logFile,
    options.timeoutMs ?? 30 * 60_000,
  );
  const results = new Map<string, ObjectResult>();
  for (const file of files) results.set(file, { built: existsSync(join(root, file.slice(0, -2) + '.o')), warnings: [], errors: [] });
  let current: ObjectResult | undefined;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const cc = /^\s+CC \[M\]\s+(\S+\.o)$/.exec(line) ?? /^\s+CC\s+(\S+\.o)$/.exec(line);
    if (cc) {
      const file = objects.get(resolve(root, cc[1]));
      current = file === undefined ? undefined : results.get(file);
      continue;
    }
    const diagnostic = /^(\S+?):(\d+):(?:\d+:)? (warning|error): (.*)$/.exec(line);
    if (diagnostic && current) {
      const text = normaliseDiagnostic(line, root, headers);
      (diagnostic[3] === 'warning' ? current.warnings : current.errors).push(text);
    }
  }
  return results;
}

/**
 * `/tmp/x/dm-zero.c:42:7: warning: ...` -> `dm-zero.c:42: warning: ...`: the build folder and the headers'
 * location go (so an original and an instrumented copy compare equal), and so does the column (an inline
 * breadcrumb moves the text after it on its line). Header paths keep their part from `include/` or `arch/`.
 */
export function normaliseDiagnostic(line: string, dir: string, headers?: string): string {
  let text = line.split(`${resolve(dir)}/`).join('');
  if (headers) text = text.split(`${resolve(headers)}/`).join('');
  text = text.replace(/\/\S*\/usr\/src\/linux-headers-[^/\s]+\//g, '');
  return text.replace(/^(\S+?):(\d+):\d+: /, '$1:$2: ');
}

function runMake(args: string[], logFile: string, timeoutMs: number): Promise<number> {
  // One file for stdout and stderr: make -O then keeps each target's messages in one block.
  const fd = openSync(logFile, 'w');
  return new Promise((resolvePromise, reject) => {
    // The kernel's Makefile unexports LC_ALL: LANG and LC_MESSAGES make gcc's quotes plain ASCII.
    const child = spawn('make', args, { stdio: ['ignore', fd, fd], env: { ...process.env, LANG: 'C', LC_MESSAGES: 'C', LC_CTYPE: 'C', LC_ALL: 'C' } });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      closeSync(fd);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      closeSync(fd);
      if (signal) reject(new Error(`make killed by ${signal} after ${timeoutMs} ms; log: ${logFile}`));
      else resolvePromise(code ?? 0);
    });
  });
}

/**
 * Asserts that each of `files` builds instrumented exactly when it builds originally, with the same
 * warnings; returns how many built.
 */
export function assertSameBuilds(files: string[], before: Map<string, ObjectResult>, after: Map<string, ObjectResult>): number {
  let built = 0;
  for (const file of files) {
    const a = before.get(file)!;
    const b = after.get(file)!;
    assert.equal(b.built, a.built, `${file}: ${a.built ? 'builds' : 'fails'} originally, ${b.built ? 'builds' : 'fails'} instrumented\n${b.errors.join('\n')}`);
    if (!a.built) continue;
    built++;
    assert.deepEqual([...b.warnings].sort(), [...a.warnings].sort(), `${file}: warnings differ`);
  }
  return built;
}
