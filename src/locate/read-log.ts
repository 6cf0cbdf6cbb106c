/**
 * How a log is read for locate-freeze and zoom: a small log (or a stream) whole and forwards, a large one
 * from its end with the tail scanner, in chunks that double, then forwards again over the region that
 * matters (the last breadcrumbs' history and what follows them). The log is reached through LogSource,
 * so this is the same over a file, a test's string, or anything else with a size and random reads.
 */
import { LogAnalyzer, type LogAnalysis } from './analyze.js';
import { HISTORY } from './cycle.js';
import type { CrumbResolver } from './resolve.js';
import { TailScanner } from './tail-scan.js';

/** A log with random access: the file-backed one is at the edge (cli/log-file.ts). */
export interface LogSource {
  readonly size: number;
  /** The bytes [start, start + length) (fewer at the end); valid until the next read. */
  read(start: number, length: number): Uint8Array;
}

/** How a log is read; tests shrink these to drive the read-from-the-end path with small logs. */
export interface ReadLimits {
  /** Logs up to this size are read whole, forwards (boot numbers and line numbers are then exact). */
  wholeFileBytes: number;
  /** Bytes read per step from the end, at first. */
  chunkBytes: number;
  /** Steps double up to this while the scan goes on (the answer is usually in the first ones). */
  maxChunkBytes?: number;
  /** How far past the last breadcrumb to look for lockup reports and later boots. */
  tailBytes: number;
}

export const DEFAULT_LIMITS: ReadLimits = { wholeFileBytes: 32 << 20, chunkBytes: 64 << 10, maxChunkBytes: 1 << 20, tailBytes: 4 << 20 };

/** How far behind the last breadcrumb a log read from its end is read for trails and cycle history. */
const HISTORY_BYTES = 1024 * 1024;

export interface ReadResult {
  analysis: LogAnalysis;
  /** The part read starts at the log's start (boot and line numbers are exact), and ends at its end. */
  fromStart: boolean;
  toEnd: boolean;
}

/** Logs are bytes, not UTF-8: latin1 maps every byte to one char and never fails. */
export function latin1(chunk: string | Uint8Array): string {
  return typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}

/** A stream (stdin) can only be read forwards, whole. */
export async function analyzeStream(chunks: AsyncIterable<string | Uint8Array>, resolver: CrumbResolver, trail: number): Promise<ReadResult> {
  const analyzer = new LogAnalyzer({ resolver, trail, firstLineNumber: 1 });
  for await (const chunk of chunks) analyzer.push(latin1(chunk));
  return { analysis: analyzer.end(), fromStart: true, toEnd: true };
}

/** A log with random access: whole when small, else from the end (see ReadLimits). */
export function analyzeLog(log: LogSource, resolver: CrumbResolver, trail: number, limits: ReadLimits = DEFAULT_LIMITS): ReadResult {
  const { size } = log;
  if (size <= limits.wholeFileBytes) {
    const analyzer = new LogAnalyzer({ resolver, trail, firstLineNumber: 1 });
    readForward(log, 0, size, limits.chunkBytes, (text) => analyzer.push(text));
    return { analysis: analyzer.end(), fromStart: true, toEnd: true };
  }
  // Back far enough for each thread's cycle history too, not only the trail shown, but within a byte
  // budget: breadcrumbs thin out in a huge log, and the answer must not wait for the whole file.
  const scanner = new TailScanner({ isOurs: (tag) => resolver.knowsTag(tag), trail: Math.max(trail, HISTORY), maxBackBytes: HISTORY_BYTES });
  let step = limits.chunkBytes;
  for (let end = size; end > 0; end -= step, step = Math.min(step * 2, limits.maxChunkBytes ?? step)) {
    const start = Math.max(0, end - step);
    const bytes = log.read(start, end - start);
    // most of a huge log has no `#` at all: skip decoding those chunks
    const newline = scanner.canSkip() && bytes.indexOf(0x23) === -1 ? bytes.indexOf(0x0a) : -1;
    const done = newline === -1 ? scanner.pushBack(latin1(bytes), start) : scanner.skipBack(latin1(bytes.subarray(0, newline + 1)), start);
    if (done) break;
  }
  const scan = scanner.result();
  const from = scan.lastCrumbEnd === undefined ? Math.max(0, size - limits.tailBytes) : scan.regionStart;
  const to = scan.lastCrumbEnd === undefined ? size : Math.min(size, scan.lastCrumbEnd + limits.tailBytes);
  const analyzer = new LogAnalyzer({ resolver, trail, startOffset: from, firstLineNumber: from === 0 ? 1 : undefined });
  readForward(log, from, to, limits.chunkBytes, (text) => analyzer.push(text));
  const analysis = analyzer.end();
  // tags the backward scan saw outside the forward region still deserve their warning
  for (const [tag, n] of scan.unknownTags) if (!analysis.unknownTags.has(tag)) analysis.unknownTags.set(tag, n);
  return { analysis, fromStart: from === 0, toEnd: to === size };
}

/** Hands [from, to) of the log to `push` as text, a megabyte (at least) at a time. */
export function readForward(log: LogSource, from: number, to: number, chunkBytes: number, push: (text: string) => void): void {
  const step = Math.max(chunkBytes, 1 << 20);
  for (let at = from; at < to; at += step) push(latin1(log.read(at, Math.min(step, to - at))));
}
