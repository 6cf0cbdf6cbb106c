import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fsync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KcrumbError } from '../errors.js';
import type { SourceFile } from '../instrument/instrument.js';

const C_FILE = /\.[ch]$/;

/** A path as the user should see it: relative to cwd when inside it. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, resolve(cwd, path));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(cwd, path);
}

/** Expands directories to the .c files below them (sorted), keeps files as given. */
export function expandPaths(cwd: string, paths: string[], extensions = /\.c$/): string[] {
  const out: string[] = [];
  for (const path of paths) {
    const full = resolve(cwd, path);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      throw new KcrumbError('input', `${path}: no such file or directory`);
    }
    if (stat.isDirectory()) out.push(...walk(full, extensions).map((p) => displayPath(cwd, p)));
    else out.push(path);
  }
  return out;
}

function walk(dir: string, extensions: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) out.push(...walk(full, extensions));
    else if (entry.isFile() && extensions.test(entry.name)) out.push(full);
  }
  return out;
}

/**
 * Reads C sources as latin1 (every byte maps to one character and back, so nothing is ever re-encoded).
 * Every check runs before anything is written: one bad file stops the whole run.
 */
export function readSourceFiles(cwd: string, paths: string[]): SourceFile[] {
  return paths.map((path) => readSourceFile(cwd, path));
}

export function readSourceFile(cwd: string, path: string): SourceFile {
  if (!C_FILE.test(path)) throw new KcrumbError('input', `${path}: not a C source file (expected .c or .h)`);
  let text: string;
  try {
    // A FIFO or device named *.c would block the read (or never end): only regular files are sources.
    const stat = statSync(resolve(cwd, path));
    if (!stat.isFile() && !stat.isDirectory()) throw new KcrumbError('input', `${path}: not a regular file (a FIFO, device or socket), not C source`);
    text = readFileSync(resolve(cwd, path), 'latin1');
  } catch (error) {
    if (error instanceof KcrumbError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : `cannot read (${code})`;
    throw new KcrumbError('input', `${path}: ${why}`);
  }
  if (looksBinary(text)) throw new KcrumbError('input', `${path}: binary file, not C source`);
  return { path: displayPath(cwd, path), text };
}

/** NUL bytes, or many control characters that C source never holds. */
function looksBinary(text: string): boolean {
  if (text.includes('\0')) return true;
  const sample = text.slice(0, 8192);
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12 && c !== 11 && c !== 27) control++;
  }
  return control > sample.length / 100;
}

export interface PendingWrite {
  path: string;
  text: string;
  encoding: BufferEncoding;
}

export interface StagedFile {
  temp: string;
  target: string;
}

/**
 * A temporary file beside `path`, written in pieces (buffered), fsync'd on close and renamed over its
 * target by commitStaged: the manifest of a whole tree is written this way, never held as one string.
 */
export class StagedWriter {
  readonly target: string;
  readonly temp: string;
  private readonly fd: number;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private closed = false;

  constructor(cwd: string, path: string) {
    // Through a symbolic link to the file it names: the link stays a link (and the rename stays on one file system).
    this.target = realTarget(resolve(cwd, path));
    this.temp = `${this.target}.kcrumb-${randomBytes(4).toString('hex')}.tmp`;
    mkdirSync(dirname(this.target), { recursive: true });
    let mode = 0o644;
    try {
      mode = statSync(this.target).mode & 0o7777;
    } catch {
      // a new file (the manifest)
    }
    this.fd = openSync(this.temp, 'wx', mode);
  }

  write(text: string, encoding: BufferEncoding = 'utf8'): void {
    const bytes = Buffer.from(text, encoding);
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    if (this.bufferedBytes >= 1 << 20) this.flush();
  }

  close(): StagedFile {
    try {
      this.flush();
      fsyncSync(this.fd);
    } finally {
      this.closeFd();
    }
    return { temp: this.temp, target: this.target };
  }

  /** close(), with the fsync waited for on libuv's thread pool: the thread goes on with other work meanwhile. */
  async closeAsync(): Promise<StagedFile> {
    try {
      this.flush();
      await fsyncAsync(this.fd);
    } finally {
      this.closeFd();
    }
    return { temp: this.temp, target: this.target };
  }

  abort(): void {
    try {
      this.closeFd();
    } catch {
      // the error that made us abort matters more
    }
    tryUnlink(this.temp);
  }

  /** Closes once: after an async close the number may already belong to another file. */
  private closeFd(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.bufferedBytes > 0) writeSync(this.fd, Buffer.concat(this.buffered, this.bufferedBytes));
    this.buffered = [];
    this.bufferedBytes = 0;
  }
}

/** Writes `text` to a temporary file beside `path` and returns its path; commitStaged renames it over the target. */
export function stageFile(cwd: string, path: string, text: string, encoding: BufferEncoding = 'latin1'): string {
  const writer = new StagedWriter(cwd, path);
  try {
    writer.write(text, encoding);
    return writer.close().temp;
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** stageFile for the instrument workers: they plan the next file while the disk syncs this one. */
export async function stageFileAsync(cwd: string, path: string, text: string, encoding: BufferEncoding = 'latin1'): Promise<string> {
  const writer = new StagedWriter(cwd, path);
  try {
    writer.write(text, encoding);
    return (await writer.closeAsync()).temp;
  } catch (error) {
    writer.abort();
    throw error;
  }
}

const fsyncAsync = promisify(fsync);

/**
 * Renames each staged file over its target. A target with other hard links is written in place instead
 * (its new bytes are complete and synced in the temporary file by now), so every name keeps the same file.
 */
export function commitStaged(staged: StagedFile[]): void {
  for (const { temp, target } of staged) {
    const real = realTarget(target);
    if (linkCount(real) > 1) {
      copyFileSync(temp, real);
      unlinkSync(temp);
    } else renameSync(temp, real);
  }
}

function linkCount(path: string): number {
  try {
    return lstatSync(path).nlink;
  } catch {
    return 0;
  }
}

function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // a new file
  }
}

/** What kcrumb may overwrite at an output path that exists: its own kind of file, recognised by its start. */
const OWN_OUTPUT = {
  manifest: { what: 'a kcrumb manifest', ours: (_path: string, head: string) => head.includes('"schema": "kcrumb-manifest"') },
  lcov: { what: 'lcov data kcrumb wrote', ours: (_path: string, head: string) => head === '' || head.startsWith('TN:kcrumb\n') },
  log: { what: 'a saved log (*.log)', ours: (path: string) => path.endsWith('.log') },
};

/**
 * The absolute path of an output option, refused (exit 2, before anything is written) when it exists and
 * is not a regular file, or is a file kcrumb did not write: `-m dm-remap.c` must never replace a source.
 */
export function checkOutputPath(cwd: string, given: string, option: string, kind: keyof typeof OWN_OUTPUT): string {
  const path = resolve(cwd, given);
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return path; // a new file
  }
  const { what, ours } = OWN_OUTPUT[kind];
  if (!stat.isFile()) {
    const is = stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
    throw new KcrumbError('usage', `${option} ${given}: exists and is ${is}; kcrumb writes only a new file or ${what}`);
  }
  const fd = openSync(path, 'r');
  let head: string;
  try {
    const buffer = Buffer.alloc(4096);
    head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
  if (!ours(path, head)) throw new KcrumbError('usage', `${option} ${given}: exists and is not ${what}; refusing to overwrite it`, 'name a new file');
  return path;
}

export function discardStaged(staged: StagedFile[]): void {
  for (const { temp } of staged) tryUnlink(temp);
}

/**
 * Writes every file atomically: all contents go to temporary files beside their targets first, then each
 * is renamed over its target. A failure before the renames leaves every target untouched.
 */
export function writeFilesAtomically(cwd: string, writes: PendingWrite[]): void {
  const staged: StagedFile[] = [];
  try {
    for (const write of writes) {
      staged.push({ temp: stageFile(cwd, write.path, write.text, write.encoding), target: resolve(cwd, write.path) });
    }
  } catch (error) {
    discardStaged(staged);
    throw new KcrumbError('input', `cannot write: ${(error as Error).message}`);
  }
  commitStaged(staged);
}

/** The name StagedWriter gives a temporary file beside `base`. */
const TEMP_SUFFIX = /^\.kcrumb-[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files a killed or failed run left beside `paths` (and in `extraDirs`, the
 * manifest folder): run under the run lock, so none of them is live work. Returns how many went.
 */
export function removeStaleTemps(cwd: string, paths: string[], extraDirs: string[] = []): number {
  const byDir = new Map<string, Set<string>>();
  for (const dir of extraDirs) byDir.set(dir, byDir.get(dir) ?? new Set());
  for (const path of paths) {
    const real = realTarget(resolve(cwd, path));
    const names = byDir.get(dirname(real)) ?? new Set<string>();
    names.add(basename(real));
    byDir.set(dirname(real), names);
  }
  let removed = 0;
  for (const [dir, bases] of byDir) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      const at = name.lastIndexOf('.kcrumb-');
      if (at <= 0 || !TEMP_SUFFIX.test(name.slice(at))) continue;
      // beside a file of this run, or any in a folder given whole (the manifest folder)
      if (!extraDirs.includes(dir) && !bases.has(name.slice(0, at))) continue;
      tryUnlink(join(dir, name));
      removed++;
    }
  }
  return removed;
}

/** Says how many temporary files of an interrupted run were removed, if any. */
export function noteRemoved(output: { err(text: string): void }, count: number): void {
  if (count > 0) output.err(`kcrumb: removed ${count} temporary file(s) an interrupted kcrumb run left`);
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
