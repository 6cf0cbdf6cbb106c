/**
 * Reading a log from its end. The edge hands in chunks from the end backwards; this finds the last
 * breadcrumb of ours without looking at lines one by one, then walks back line by line only as far as the
 * answer needs: to the start of that breadcrumb's boot, or until every thread's trail is full. A forward
 * pass (LogAnalyzer) over the region found then builds the answer, so the cost follows the answer, not
 * the file's size.
 */
import { LOG_CRUMB } from '../breadcrumb.js';
import { MAX_LINE, parseLogLine } from '../log/log-line.js';
import { threadKey } from './threads.js';

/** LOG_CRUMB anchored where it is tried. */
const CRUMB_AT = new RegExp(LOG_CRUMB.source, 'y');
/**
 * A line the backward walk must parse: a breadcrumb, a boot marker (`Linux version`, journalctl's
 * `-- Boot`), a time under one second (`[    0.123456]`; /dev/kmsg lines start with a digit), or bytes
 * parseLogLine cleans away first. Any other line has neither a marker nor a clock below 1 s, and a
 * clock at 1 s or later cannot reveal a restart (only a later line in its first second can).
 */
const MAY_MATTER = /#|Linux version |\[\s*0+\.|^-- |^\d|[\r\0\x1b]/;

export interface TailScanOptions {
  /** True for tags some manifest has. */
  isOurs(tag: string): boolean;
  /** Breadcrumbs wanted per thread besides its last. */
  trail: number;
  /** How far to keep reading for threads whose trail is not full once the answer's thread's is. */
  slackBytes?: number;
  /** Never read further back than this behind the last breadcrumb. */
  maxBackBytes?: number;
}

export interface TailScanResult {
  /** Byte offset of the line holding the last breadcrumb of ours; undefined when there is none. */
  lastCrumbOffset?: number;
  /** Byte offset just past that line. */
  lastCrumbEnd?: number;
  /** Where a forward pass has to start. */
  regionStart: number;
  /** Why the scan stopped there. */
  stop: 'boot' | 'trail' | 'start' | 'limit';
  /** Breadcrumbs with tags no manifest has, seen while scanning: tag -> count. */
  unknownTags: Map<string, number>;
}

export class TailScanner {
  private carry = '';
  private done = false;
  private found?: { offset: number; end: number; thread: string };
  private regionStart = 0;
  private stop: TailScanResult['stop'] = 'start';
  private readonly counts = new Map<string, number>();
  private fullThreads = 0;
  private fullAt?: number;
  private laterTime?: number;
  private readonly unknownTags = new Map<string, number>();
  private readonly slack: number;
  private readonly maxBack: number;

  constructor(private readonly options: TailScanOptions) {
    this.slack = options.slackBytes ?? 4 * 1024 * 1024;
    this.maxBack = options.maxBackBytes ?? 256 * 1024 * 1024;
  }

  /** Feeds the chunk that precedes everything fed so far; returns true when no more is needed. */
  pushBack(chunk: string, chunkStart: number): boolean {
    if (this.done) return true;
    if (chunkStart > 0 && chunk.indexOf('\n') === -1 && chunk.length + this.carry.length <= MAX_LINE) {
      this.carry = chunk + this.carry; // one line longer than the chunk: wait for its start
      return false;
    }
    let text = chunk + this.carry;
    let begin = 0;
    if (chunkStart > 0) {
      const nl = text.indexOf('\n');
      begin = nl === -1 ? text.length - MAX_LINE : nl + 1;
    }
    this.carry = text.slice(0, begin);
    text = text.slice(begin);
    const textStart = chunkStart + begin;
    this.scanLines(text, textStart);
    if (!this.done && chunkStart === 0 && this.carry === '') {
      this.done = true;
      this.regionStart = 0;
      this.stop = 'start';
    }
    return this.done;
  }

  /** True while a chunk without any `#` can be skipped with skipBack (no crumb can hide in it). */
  canSkip(): boolean {
    return !this.done && !this.found && !this.carry.includes('#');
  }

  /**
   * Instead of pushBack, for a chunk that holds no `#` while canSkip(): only its first line piece, up to
   * and including its first newline, is needed (the start of the line that goes on in later chunks).
   */
  skipBack(firstPiece: string, chunkStart: number): boolean {
    this.carry = chunkStart === 0 ? '' : firstPiece;
    if (chunkStart === 0) this.finish('start', 0);
    return this.done;
  }

  result(): TailScanResult {
    return {
      lastCrumbOffset: this.found?.offset,
      lastCrumbEnd: this.found?.end,
      regionStart: this.found ? this.regionStart : 0,
      stop: this.stop,
      unknownTags: this.unknownTags,
    };
  }

  /** Lines of `text` (complete, starting at byte `textStart`) from the last to the first. */
  private scanLines(text: string, textStart: number): void {
    let pos = text.endsWith('\n') ? text.length - 1 : text.length;
    if (!this.found) {
      const at = this.lastCrumbIn(text);
      if (at === undefined) return;
      const start = text.lastIndexOf('\n', at) + 1;
      const nl = text.indexOf('\n', at);
      const end = nl === -1 ? text.length : nl;
      const line = text.slice(start, end);
      const parsed = parseLogLine(line);
      const hit = this.oursIn(line)[0];
      this.found = { offset: textStart + start, end: textStart + end, thread: threadKey(parsed.caller, hit.cpu, hit.task) };
      this.laterTime = parsed.time;
      this.countThreads(line, parsed.caller);
      if (parsed.bootMarker) return this.finish('boot', textStart + start);
      pos = start - 1;
    }
    while (pos >= 0 && !this.done) {
      const nl = pos > 0 ? text.lastIndexOf('\n', pos - 1) : -1;
      const start = nl + 1;
      this.backLine(text.slice(start, pos), textStart + start);
      pos = nl;
    }
  }

  /**
   * Index of the last breadcrumb of ours in `text`; counts the unknown tags seen on the way. Walks the `#`
   * characters (memchr-fast) and tries the breadcrumb pattern only there: most chunks have none.
   */
  private lastCrumbIn(text: string): number | undefined {
    let at: number | undefined;
    for (let hash = text.indexOf('#', 4); hash !== -1; hash = text.indexOf('#', hash + 1)) {
      CRUMB_AT.lastIndex = hash - 4;
      const m = CRUMB_AT.exec(text);
      if (!m) continue;
      if (this.options.isOurs(m[1])) at = m.index;
      else this.unknownTags.set(m[1], (this.unknownTags.get(m[1]) ?? 0) + 1);
    }
    return at;
  }

  private oursIn(line: string): { cpu: number; task?: number }[] {
    const hits: { cpu: number; task?: number }[] = [];
    for (const m of line.matchAll(LOG_CRUMB)) if (this.options.isOurs(m[1])) hits.push({ cpu: Number(m[3]), task: m[4] === undefined ? undefined : Number(m[4]) });
    return hits;
  }

  private countThreads(line: string, caller: string | undefined): void {
    this.oursIn(line).forEach((hit, i) => {
      const key = threadKey(i === 0 ? caller : undefined, hit.cpu, hit.task);
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      if (count === this.options.trail + 1) this.fullThreads++;
    });
  }

  /** One line before the last breadcrumb, walking backwards. */
  private backLine(line: string, offset: number): void {
    const found = this.found!;
    // Only a clock in its first second (or the line before one), a boot marker or a breadcrumb changes
    // anything here; parsing every other line was most of the walk.
    if ((this.laterTime !== undefined && this.laterTime < 1) || MAY_MATTER.test(line)) {
      const parsed = parseLogLine(line);
      if (parsed.bootMarker) return this.finish('boot', offset);
      if (parsed.time !== undefined) {
        // The clock restarted between this line and the later one: the later one started a boot. (A clock
        // that only steps back is a frozen CPU's NMI backtrace keeping the time it froze at.)
        if (this.laterTime !== undefined && this.laterTime < 1 && this.laterTime + 1 < parsed.time) return this.finish('boot', offset);
        this.laterTime = parsed.time;
      }
      if (line.includes('#')) {
        this.countThreads(line, parsed.caller);
        for (const m of line.matchAll(LOG_CRUMB)) if (!this.options.isOurs(m[1])) this.unknownTags.set(m[1], (this.unknownTags.get(m[1]) ?? 0) + 1);
      }
    }
    const need = this.options.trail + 1;
    if (this.fullAt === undefined && (this.counts.get(found.thread) ?? 0) >= need) this.fullAt = offset;
    if (this.fullAt !== undefined) {
      if (this.fullThreads === this.counts.size || this.fullAt - offset >= this.slack) return this.finish('trail', offset);
    }
    if (found.offset - offset > this.maxBack) return this.finish('limit', offset);
  }

  private finish(stop: TailScanResult['stop'], regionStart: number): void {
    this.done = true;
    this.stop = stop;
    this.regionStart = regionStart;
  }
}
