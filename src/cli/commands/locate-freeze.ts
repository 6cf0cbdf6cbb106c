import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { KcrumbError } from '../../errors.js';
import { LogAnalyzer, type LogAnalysis } from '../../locate/analyze.js';
import { annotateLine } from '../../locate/annotate.js';
import { HISTORY } from '../../locate/cycle.js';
import { locateFreeze, type Answer } from '../../locate/locate.js';
import { formatJson, formatLcov, formatText, type ReportPaths, type SourceWindow } from '../../locate/report.js';
import { CrumbResolver } from '../../locate/resolve.js';
import { TailScanner } from '../../locate/tail-scan.js';
import { sha256 } from '../../manifest/hash.js';
import type { Manifest } from '../../manifest/schema.js';
import type { CommandContext } from '../context.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { requireManifests, type StoredManifest } from '../manifest-store.js';

/** How far behind the last breadcrumb a log read from its end is read for trails and cycle history. */
const HISTORY_BYTES = 1024 * 1024;

export interface LocateFlags {
  manifest?: string;
  trail: number;
  context: number;
  json?: boolean;
  lcov?: string;
  annotate?: boolean;
}

/** How a log file is read; tests shrink these to drive the read-from-the-end path with small files. */
export interface ReadLimits {
  /** Files up to this size are read whole, forwards (boot numbers and line numbers are then exact). */
  wholeFileBytes: number;
  /** Bytes read per step from the end, at first. */
  chunkBytes: number;
  /** Steps double up to this while the scan goes on (the answer is usually in the first ones). */
  maxChunkBytes?: number;
  /** How far past the last breadcrumb to look for lockup reports and later boots. */
  tailBytes: number;
}

export const DEFAULT_LIMITS: ReadLimits = { wholeFileBytes: 32 << 20, chunkBytes: 64 << 10, maxChunkBytes: 1 << 20, tailBytes: 4 << 20 };

export function registerLocateFreeze(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Find the last breadcrumb of ours in a kernel log (serial or netconsole capture, pstore file, ' +
        'dmesg, /dev/kmsg, journalctl -k) and print where it is in the source, what could have printed ' +
        'next, each CPU\'s (or task\'s) trail, and whether the kernel\'s lockup reports agree. Large logs ' +
        'are read from the end. Exit 0: found; 1: none of ours in the log; 2: bad input.',
    )
    .argument('<log>', 'the log file, or - for stdin')
    .option('-m, --manifest <file|dir>', 'manifest file or directory of them (default: .kcrumb/ in the working directory)')
    .option('-n, --trail <n>', 'breadcrumbs shown per CPU or task before its last one', count, 10)
    .option('-C, --context <n>', 'source lines shown around the answer', count, 3)
    .option('--json', 'print one JSON object instead of text')
    .option('--lcov <file>', 'also write the lines whose breadcrumbs printed as lcov data (for genhtml or an editor)')
    .option('-a, --annotate', 'filter mode: print the log with each breadcrumb line annotated with file:line')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb locate-freeze serial.log
  drivers/md/dm-demo.c:34:17: note: last breadcrumb #8 (demo_map): the freeze is at or after this statement
  $ journalctl -k -b -1 | kcrumb locate-freeze -
  $ kcrumb locate-freeze --json --lcov freeze.info /sys/fs/pstore/dmesg-ramoops-0
  $ kcrumb locate-freeze --annotate console.log | less
  [  123.456789] kq7x#8@1  <- drivers/md/dm-demo.c:34:17 demo_map`,
    )
    .action(async (log: string, flags: LocateFlags) => {
      ctx.exitCode = await runLocateFreeze(ctx, log, flags);
    });
}

/** The whole of `kcrumb locate-freeze LOG`: prints the answer, returns the exit code (watch calls it too). */
export async function runLocateFreeze(ctx: CommandContext, log: string, flags: LocateFlags): Promise<number> {
  const stored = requireManifests(ctx.cwd, flags.manifest);
  const warnings = duplicateTagWarnings(stored);
  const manifests = stored.map((s) => s.manifest);
  const resolver = new CrumbResolver(manifests);
  const paths = reportPaths(ctx.cwd, manifests);
  if (flags.annotate) return annotate(ctx, log, resolver, paths);

  const { analysis, fromStart, toEnd } = await analyzeLog(ctx, log, resolver, flags.trail, DEFAULT_LIMITS);
  if (analysis.textLines === 0 && !analysis.boot) {
    throw new KcrumbError('input', `${log}: ${analysis.bytes === 0 ? 'is empty' : 'has no text lines: not a kernel log'}`);
  }
  const answer = locateFreeze({ analysis, resolver, fromStart, toEnd });
  answer.warnings.unshift(...warnings, ...sourceWarnings(answer, manifests));
  for (const warning of answer.warnings) ctx.output.err(`kcrumb: warning: ${warning}`);

  if (flags.json) {
    ctx.output.out(JSON.stringify(formatJson(answer, paths), null, 2));
  } else {
    const shown = answer.root?.at ?? answer.last;
    const source = shown ? sourceWindow(manifests[shown.manifest], shown.crumb.file, shown.crumb.line, flags.context) : undefined;
    const lines = formatText(answer, { paths, source });
    if (answer.status === 'found') ctx.output.out(lines.join('\n'));
    else ctx.output.err(lines.join('\n'));
  }
  if (flags.lcov) {
    const absolute = (m: number, f: number) => resolve(manifests[m].root, manifests[m].files[f].path);
    writeFileSync(resolve(ctx.cwd, flags.lcov), analysis.boot ? formatLcov(analysis.boot, manifests, absolute) : '');
  }
  return answer.status === 'found' ? EXIT_OK : EXIT_NO;
}

/** Reads the log: stdin and small files forwards and whole, large files from the end (see ReadLimits). */
export async function analyzeLog(
  ctx: Pick<CommandContext, 'cwd' | 'stdin'>,
  log: string,
  resolver: CrumbResolver,
  trail: number,
  limits: ReadLimits = DEFAULT_LIMITS,
): Promise<{ analysis: LogAnalysis; fromStart: boolean; toEnd: boolean }> {
  if (log === '-') {
    const analyzer = new LogAnalyzer({ resolver, trail, firstLineNumber: 1 });
    for await (const chunk of ctx.stdin) analyzer.push(latin1(chunk));
    return { analysis: analyzer.end(), fromStart: true, toEnd: true };
  }
  const path = resolve(ctx.cwd, log);
  const size = logSize(path, log);
  const fd = openSync(path, 'r');
  try {
    if (size <= limits.wholeFileBytes) {
      const analyzer = new LogAnalyzer({ resolver, trail, firstLineNumber: 1 });
      readForward(fd, 0, size, limits.chunkBytes, (text) => analyzer.push(text));
      return { analysis: analyzer.end(), fromStart: true, toEnd: true };
    }
    // Back far enough for each thread's cycle history too, not only the trail shown, but within a byte
    // budget: breadcrumbs thin out in a huge log, and the answer must not wait for the whole file.
    const scanner = new TailScanner({ isOurs: (tag) => resolver.knowsTag(tag), trail: Math.max(trail, HISTORY), maxBackBytes: HISTORY_BYTES });
    let step = limits.chunkBytes;
    // One buffer for every chunk (each is decoded into a string before the next is read): a fresh one per
    // chunk costs a page fault per 4 KiB, 300 ms -> 212 ms on 1 GiB with one breadcrumb at its start.
    const scratch = Buffer.allocUnsafe(Math.max(step, limits.maxChunkBytes ?? step));
    for (let end = size; end > 0; end -= step, step = Math.min(step * 2, limits.maxChunkBytes ?? step)) {
      const start = Math.max(0, end - step);
      const bytes = readBytes(fd, start, end - start, scratch);
      // most of a huge log has no `#` at all: skip decoding those chunks
      const newline = scanner.canSkip() && bytes.indexOf(0x23) === -1 ? bytes.indexOf(0x0a) : -1;
      const done =
        newline === -1 ? scanner.pushBack(bytes.toString('latin1'), start) : scanner.skipBack(bytes.toString('latin1', 0, newline + 1), start);
      if (done) break;
    }
    const scan = scanner.result();
    const from = scan.lastCrumbEnd === undefined ? Math.max(0, size - limits.tailBytes) : scan.regionStart;
    const to = scan.lastCrumbEnd === undefined ? size : Math.min(size, scan.lastCrumbEnd + limits.tailBytes);
    const analyzer = new LogAnalyzer({ resolver, trail, startOffset: from, firstLineNumber: from === 0 ? 1 : undefined });
    readForward(fd, from, to, limits.chunkBytes, (text) => analyzer.push(text));
    const analysis = analyzer.end();
    // tags the backward scan saw outside the forward region still deserve their warning
    for (const [tag, n] of scan.unknownTags) if (!analysis.unknownTags.has(tag)) analysis.unknownTags.set(tag, n);
    return { analysis, fromStart: from === 0, toEnd: to === size };
  } finally {
    closeSync(fd);
  }
}

function logSize(path: string, log: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KcrumbError('input', `${log}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`);
  }
  if (stat.isDirectory()) throw new KcrumbError('input', `${log}: is a directory, not a log file`);
  return stat.size;
}

function readBytes(fd: number, start: number, length: number, into?: Buffer): Buffer {
  const buffer = into ?? Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got);
}

function readAt(fd: number, start: number, length: number): string {
  return readBytes(fd, start, length).toString('latin1');
}

function readForward(fd: number, from: number, to: number, chunkBytes: number, push: (text: string) => void): void {
  const step = Math.max(chunkBytes, 1 << 20);
  for (let at = from; at < to; at += step) push(readAt(fd, at, Math.min(step, to - at)));
}

/** Logs are bytes, not UTF-8: latin1 maps every byte to one char and never fails. */
function latin1(chunk: string | Buffer): string {
  return typeof chunk === 'string' ? chunk : chunk.toString('latin1');
}

async function annotate(ctx: CommandContext, log: string, resolver: CrumbResolver, paths: ReportPaths): Promise<number> {
  let carry = '';
  let found = false;
  const emit = (text: string, final: boolean) => {
    const lines = (carry + text).split('\n');
    carry = final ? '' : lines.pop()!;
    if (final && lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) return;
    const out = lines.map((line) => annotateLine(line, resolver, paths));
    if (!found) found = out.some((line, i) => line.length !== lines[i].replace(/\r$/, '').length);
    ctx.output.out(out.join('\n'));
  };
  if (log === '-') {
    for await (const chunk of ctx.stdin) emit(latin1(chunk), false);
  } else {
    const path = resolve(ctx.cwd, log);
    const size = logSize(path, log);
    const fd = openSync(path, 'r');
    try {
      readForward(fd, 0, size, DEFAULT_LIMITS.chunkBytes, (text) => emit(text, false));
    } finally {
      closeSync(fd);
    }
  }
  emit('', true);
  return found ? EXIT_OK : EXIT_NO;
}

/** File paths relative to the working directory when inside it, else absolute, else as in the manifest. */
function reportPaths(cwd: string, manifests: Manifest[]): ReportPaths {
  const shown = manifests.map((m) =>
    m.files.map((file) => {
      const absolute = resolve(m.root, file.path);
      const rel = relative(cwd, absolute);
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
      return existsSync(m.root) ? absolute : file.path;
    }),
  );
  return { display: (m, f) => shown[m][f] };
}

function duplicateTagWarnings(stored: StoredManifest[]): string[] {
  const seen = new Map<string, string>();
  const warnings: string[] = [];
  for (const { path, manifest } of stored) {
    const first = seen.get(manifest.tag);
    if (first) warnings.push(`${path} has the same tag ${manifest.tag} as ${first}; using ${first}`);
    else seen.set(manifest.tag, path);
  }
  return warnings;
}

/** A source file that changed since instrumenting makes every line number suspect: say so. */
function sourceWarnings(answer: Answer, manifests: Manifest[]): string[] {
  const used = new Set(answer.threads.flatMap((t) => t.crumbs.map((s) => `${s.manifest}:${s.crumb.file}`)));
  const warnings: string[] = [];
  for (const key of used) {
    const [m, f] = key.split(':').map(Number);
    const file = manifests[m].files[f];
    const absolute = resolve(manifests[m].root, file.path);
    let hash: string;
    try {
      hash = sha256(readFileSync(absolute, 'latin1'));
    } catch {
      warnings.push(`${absolute}: cannot read it to check it against manifest ${manifests[m].tag}; no source shown`);
      continue;
    }
    // kcrumb never moves a line, so the file as any known run left it (a zoom, say) keeps the numbers
    const known = manifests.some((other) =>
      other.files.some((f) => (f.originalSha256 === hash || f.instrumentedSha256 === hash) && resolve(other.root, f.path) === absolute),
    );
    if (!known) {
      warnings.push(
        `${file.path} changed since kcrumb instrument (its sha256 matches neither the original nor the instrumented file): line numbers may be off`,
      );
    }
  }
  return warnings;
}

function sourceWindow(manifest: Manifest, file: number, line: number, context: number): SourceWindow | undefined {
  let text: string;
  try {
    text = readFileSync(resolve(manifest.root, manifest.files[file].path), 'latin1');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (line > lines.length) return undefined;
  const first = Math.max(1, line - context);
  return { firstLine: first, lines: lines.slice(first - 1, Math.min(lines.length, line + context)) };
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100000) throw new InvalidArgumentError('expected a whole number from 0 to 100000');
  return n;
}
