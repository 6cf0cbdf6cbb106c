/** The file-backed LogSource (locate/read-log.ts), and the one place a log argument (`-` or a path) becomes one. */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { analyzeLog, analyzeStream, DEFAULT_LIMITS, type LogSource, type ReadLimits, type ReadResult } from '../locate/read-log.js';
import type { CrumbResolver } from '../locate/resolve.js';
import type { CommandContext } from './context.js';

/** An open log file; one scratch buffer serves every read (a fresh one per chunk costs a page fault per 4 KiB). */
export class LogFile implements LogSource {
  private scratch = Buffer.alloc(0);

  private constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** Opens `log` (as the user named it) relative to `cwd`; a missing file or a directory is bad input. */
  static open(cwd: string, log: string): LogFile {
    const path = resolve(cwd, log);
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new KcrumbError('input', `${log}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`);
    }
    if (stat.isDirectory()) throw new KcrumbError('input', `${log}: is a directory, not a log file`);
    return new LogFile(openSync(path, 'r'), stat.size);
  }

  read(start: number, length: number): Buffer {
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, this.scratch, got, length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return this.scratch.subarray(0, got);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Runs `use` over the open log file and closes it, whatever happens. */
export function withLogFile<T>(cwd: string, log: string, use: (file: LogFile) => T): T {
  const file = LogFile.open(cwd, log);
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/**
 * The log as a stream when it can only be read forwards: `-` (stdin), and a path that is no regular file
 * (a named pipe, `<(cmd)`, /dev/stdin piped, a serial device): its size says nothing. Undefined for a file.
 */
export function logStream(ctx: Pick<CommandContext, 'cwd' | 'stdin'>, log: string): AsyncIterable<string | Buffer> | undefined {
  if (log === '-') return ctx.stdin as AsyncIterable<string | Buffer>;
  const path = resolve(ctx.cwd, log);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined; // LogFile.open names the error
  }
  return stat.isFile() || stat.isDirectory() ? undefined : createReadStream(path);
}

/** Reads the log a command was given: `-` is stdin, read forwards; a file may be read from its end. */
export async function readLogArgument(
  ctx: Pick<CommandContext, 'cwd' | 'stdin'>,
  log: string,
  resolver: CrumbResolver,
  trail: number,
  limits: ReadLimits = DEFAULT_LIMITS,
): Promise<ReadResult> {
  const stream = logStream(ctx, log);
  if (stream) return analyzeStream(stream, resolver, trail);
  return withLogFile(ctx.cwd, log, (file) => analyzeLog(file, resolver, trail, limits));
}
