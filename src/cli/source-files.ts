import { randomBytes } from 'node:crypto';
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
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
    text = readFileSync(resolve(cwd, path), 'latin1');
  } catch (error) {
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
    this.target = resolve(cwd, path);
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

export function commitStaged(staged: StagedFile[]): void {
  for (const { temp, target } of staged) renameSync(temp, target);
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

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
