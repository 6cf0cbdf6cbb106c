/**
 * One forward pass over log text: splits lines (chunks may cut them anywhere), tells boots apart, resolves
 * breadcrumbs into per-thread trails and collects the kernel's reports (src/reports). Memory stays bounded whatever the log's
 * size: only the current boot and the last boot that held breadcrumbs are kept.
 */
import { findCrumbs, RING_DUMP_START, RING_ENTRY } from '../breadcrumb.js';
import { LockCatalog, LockTracker } from './locks.js';
import { cleanLine, MAX_LINE, parseLogLine, type LogLine } from '../log/log-line.js';
import type { CrumbResolver } from './resolve.js';
import { compareSightings, lastOf, threadKey, ThreadTrails, type Sighting } from './threads.js';
import { ReportParser, type KernelReport } from '../reports/parse.js';

export interface AnalyzeOptions {
  resolver: CrumbResolver;
  /** Breadcrumbs kept per thread besides its last one. */
  trail: number;
  /** Byte offset in the log of the first character pushed (latin1: one byte is one char). */
  startOffset?: number;
  /** Line number of the first line pushed, when the log is read from its start. */
  firstLineNumber?: number;
}

export interface Boot {
  /** 0-based among the boots in the part of the log read. */
  index: number;
  firstLine: string;
  firstLineNumber?: number;
  firstOffset: number;
  /** Starts at `Linux version` or journalctl's `-- Boot`, not just at a clock going back. */
  marker: boolean;
  threads: ThreadTrails;
  /** The locks each thread holds, over the whole boot (the trails keep only their last breadcrumbs). */
  locks: LockTracker;
  /** Per manifest, how often each breadcrumb printed in this boot (index id - 1). */
  printed: Uint32Array[];
  /** Per manifest, each breadcrumb's last sighting in this boot (index id - 1): which statements never completed. */
  lastSeen: (Sighting | undefined)[][];
  last?: Sighting;
  crumbs: number;
  /** The kernel's reports in this boot: oopses, BUGs, warnings, lockups, stalls, hung tasks, panics. */
  reports: ReportParser;
  /**
   * Each thread's last breadcrumb when a report began: the trails keep only their last breadcrumbs, and a
   * machine that went on after an oops or a warning prints many more on the same CPU.
   */
  lastAtReport: WeakMap<KernelReport, Map<string, Sighting>>;
  /** Messages the log says it lost: `** N printk messages dropped **` and kmsg sequence gaps. */
  dropped: number;
  /** Where in the log the last loss was noted. */
  droppedAt?: number;
  /** The kernel's last words of a clean power-off, halt or restart (`reboot: Power down`): nothing froze after. */
  shutdown?: { text: string; offset: number; lineNumber?: number };
  lastTime?: number;
  lastSeq?: number;
  timedLines: number;
  /** Ring dumps (--sink ring) in this boot, in log order. */
  ringDumps: RingDump[];
}

/** A dump of kcrumb_ring.ko's rings: `kcrumb-ring: dump on panic: ...` and its entries. */
export interface RingDump {
  /** panic, oops, sysrq; unknown when the entries came without their first line (debugfs text). */
  reason: string;
  offset: number;
  lineNumber?: number;
  entries: number;
}

export interface LogAnalysis {
  /** The last boot that holds breadcrumbs of ours, if any. */
  boot?: Boot;
  /** Boots in the part of the log read; `boot.index` counts in the same range. */
  bootCount: number;
  lines: number;
  /** Lines that look like text (mostly printable); zero means this is no log. */
  textLines: number;
  bytes: number;
  /** Breadcrumbs whose tag no manifest has: tag -> count. */
  unknownTags: Map<string, number>;
  /** Byte offset of the last breadcrumb with an unknown tag. */
  lastUnknownOffset?: number;
  /** `tag#id` outside its manifest -> count. */
  unknownIds: Map<string, number>;
  /** The kernel's reports of `boot`, or, in a log without breadcrumbs of ours, of the last boot that has any. */
  reports: KernelReport[];
}

const DROPPED = /\*\* (\d+) printk messages dropped \*\*/;
/** kernel/reboot.c's last line before a machine powers off, halts or restarts as asked. */
const CLEAN_SHUTDOWN = /^reboot: (Power down|System halted|Restarting system)/;
const MAX_LINE_TEXT = 300;

export class LogAnalyzer {
  private carry = '';
  private carryOffset: number;
  private lineNumber?: number;
  private current: Boot;
  private lastWithCrumbs?: Boot;
  private lastWithReports?: Boot;
  private bootCount = 1;
  private lines = 0;
  private textLines = 0;
  private bytes = 0;
  private readonly unknownTags = new Map<string, number>();
  private readonly unknownIds = new Map<string, number>();
  private lastUnknownOffset?: number;
  private readonly catalog: LockCatalog;

  constructor(private readonly options: AnalyzeOptions) {
    this.catalog = new LockCatalog(options.resolver.manifests);
    this.carryOffset = options.startOffset ?? 0;
    this.lineNumber = options.firstLineNumber;
    this.current = this.newBoot(0, '', this.carryOffset, false);
  }

  /** Feeds the next piece of the log. */
  push(chunk: string): void {
    this.bytes += chunk.length;
    const chunkOffset = this.carryOffset + this.carry.length;
    let nl = chunk.indexOf('\n');
    if (nl === -1) {
      this.carry += chunk; // a long line: no flattening until its end arrives
      if (this.carry.length > MAX_LINE) this.flushCarry();
      return;
    }
    this.line(this.carry + chunk.slice(0, nl), this.carryOffset);
    let start = nl + 1;
    for (nl = chunk.indexOf('\n', start); nl !== -1; nl = chunk.indexOf('\n', start)) {
      this.line(chunk.slice(start, nl), chunkOffset + start);
      start = nl + 1;
    }
    this.carry = chunk.slice(start);
    this.carryOffset = chunkOffset + start;
  }

  private flushCarry(): void {
    this.line(this.carry, this.carryOffset);
    this.carryOffset += this.carry.length;
    this.carry = '';
  }

  /** Ends the log (a last line without newline, cut off by the freeze, still counts). */
  end(): LogAnalysis {
    if (this.carry.length > 0) this.flushCarry();
    this.endBoot(this.current);
    const boot = this.current.crumbs > 0 ? this.current : this.lastWithCrumbs;
    const reportBoot = boot ?? (this.current.reports.reports.length > 0 ? this.current : this.lastWithReports);
    return {
      boot,
      bootCount: this.bootCount,
      lines: this.lines,
      textLines: this.textLines,
      bytes: this.bytes,
      unknownTags: this.unknownTags,
      lastUnknownOffset: this.lastUnknownOffset,
      unknownIds: this.unknownIds,
      reports: reportBoot?.reports.reports ?? [],
    };
  }

  /** A boot is over: its open reports get their titles. */
  private endBoot(boot: Boot): void {
    boot.reports.end();
    if (boot.reports.reports.length > 0) this.lastWithReports = boot;
  }

  /**
   * A bare CR ends a line too: a capture with CR-only line ends (or a progress line redrawn over and over)
   * would otherwise be one huge line. Trailing CRs are a CRLF's.
   */
  private line(raw: string, offset: number): void {
    let end = raw.length;
    while (end > 0 && raw.charCodeAt(end - 1) === 0x0d) end--;
    let cr = raw.indexOf('\r');
    if (cr === -1 || cr >= end) return this.oneLine(raw, offset);
    for (let start = 0; start <= end; cr = raw.indexOf('\r', start)) {
      const stop = cr === -1 || cr > end ? end : cr;
      this.oneLine(raw.slice(start, stop), offset + start);
      start = stop + 1;
    }
  }

  private oneLine(raw: string, offset: number): void {
    const lineNumber = this.lineNumber;
    if (this.lineNumber !== undefined) this.lineNumber++;
    this.lines++;
    const parsed = parseLogLine(raw);
    const verdict = this.bootVerdict(parsed);
    if (verdict === 'new') {
      if (this.current.crumbs > 0) this.lastWithCrumbs = this.current;
      this.endBoot(this.current);
      this.current = this.newBoot(this.bootCount++, parsed.text, offset, parsed.bootMarker === true, lineNumber);
    } else if (verdict === 'reanchor' || (this.current.firstLine === '' && parsed.text.trim() !== '')) {
      this.current.firstLine = shorten(parsed.text);
      this.current.firstOffset = offset;
      this.current.firstLineNumber = lineNumber;
    }
    const boot = this.current;
    if (looksLikeText(parsed.text)) this.textLines++;
    this.noteLosses(boot, parsed, offset);
    if (CLEAN_SHUTDOWN.test(parsed.text)) boot.shutdown = { text: shorten(parsed.text), offset, lineNumber };
    if (parsed.time !== undefined) {
      boot.lastTime = parsed.time;
      boot.timedLines++;
    }
    if (raw.includes('kcrumb-ring: dump on ')) this.ringDumpStart(boot, raw, offset, lineNumber);
    if (raw.includes('#')) this.crumbsIn(boot, raw, parsed, offset, lineNumber);
    const latest = boot.reports.reports.at(-1);
    boot.reports.feed(parsed, lineNumber, offset);
    const begun = boot.reports.reports.at(-1);
    if (begun && begun !== latest) boot.lastAtReport.set(begun, new Map(boot.threads.list().map((t) => [t.key, lastOf(t)])));
  }

  /**
   * A boot starts at `Linux version` or when the clock goes back to its first second. A marker right
   * after a clock reset (or after pre-kernel noise such as BIOS output) belongs to the boot already begun.
   */
  private bootVerdict(line: LogLine): 'new' | 'same' | 'reanchor' {
    const boot = this.current;
    if (line.bootMarker) {
      if (boot.marker || boot.crumbs > 0) return 'new';
      if (boot.timedLines === 0) {
        boot.marker = true;
        return 'reanchor';
      }
      const early = line.time !== undefined && boot.lastTime !== undefined && boot.lastTime <= line.time + 1;
      if (!early) return 'new';
      boot.marker = true;
      return 'same';
    }
    // A reboot restarts the clock at 0. A clock that only steps back (a frozen CPU's NMI backtrace keeps
    // the time it froze at, while the other CPUs' lines go on) is the same boot.
    const reset = line.time !== undefined && boot.lastTime !== undefined && line.time < 1 && line.time + 1 < boot.lastTime;
    return reset ? 'new' : 'same';
  }

  private noteLosses(boot: Boot, line: LogLine, offset: number): void {
    let lost = 0;
    if (line.seq !== undefined) {
      if (boot.lastSeq !== undefined && line.seq > boot.lastSeq + 1) lost += line.seq - boot.lastSeq - 1;
      boot.lastSeq = line.seq;
    }
    if (line.text.includes('printk messages dropped')) {
      const m = DROPPED.exec(line.text);
      lost += m ? Number(m[1]) : 1;
    }
    if (lost > 0) {
      boot.dropped += lost;
      boot.droppedAt = offset;
    }
  }

  private ringDumpStart(boot: Boot, raw: string, offset: number, lineNumber: number | undefined): void {
    const m = RING_DUMP_START.exec(raw);
    if (m) boot.ringDumps.push({ reason: m[1], offset, lineNumber, entries: 0 });
  }

  private crumbsIn(boot: Boot, raw: string, parsed: LogLine, offset: number, lineNumber: number | undefined): void {
    const hits = findCrumbs(raw.includes('\0') ? raw.replaceAll('\0', '') : raw);
    const entry = hits.length === 1 && raw.includes(' t=') ? RING_ENTRY.exec(parsed.text) : null;
    if (entry) {
      if (boot.ringDumps.length === 0) boot.ringDumps.push({ reason: 'unknown', offset, lineNumber, entries: 0 });
      boot.ringDumps[boot.ringDumps.length - 1].entries++;
    }
    // One shortened copy of the line for all its breadcrumbs: per breadcrumb, a line of 300,000 is quadratic.
    let text: string | undefined;
    hits.forEach((hit, i) => {
      const found = this.options.resolver.resolve(hit);
      if (!found.ok) {
        if (found.why === 'unknown-tag') {
          this.unknownTags.set(hit.tag, (this.unknownTags.get(hit.tag) ?? 0) + 1);
          this.lastUnknownOffset = offset;
        } else {
          const key = `${hit.tag}#${hit.id}`;
          this.unknownIds.set(key, (this.unknownIds.get(key) ?? 0) + 1);
        }
        return;
      }
      // a line glued from two CPUs: the caller id belongs to the line's first message only
      const sighting: Sighting = {
        manifest: found.manifest,
        crumb: found.crumb,
        tag: hit.tag,
        cpu: hit.cpu,
        thread: threadKey(i === 0 && !entry ? parsed.caller : undefined, hit.cpu, hit.task),
        time: entry ? Number(`${entry[1]}.${entry[2]}`) : parsed.time,
        lineNumber,
        offset,
        text: (text ??= shorten(cleanLine(raw))),
      };
      if (entry) {
        sighting.fromDump = true;
        this.keepLastBeforeReports(boot, sighting);
      }
      boot.threads.add(sighting);
      boot.locks.observe(sighting);
      boot.printed[found.manifest][found.crumb.id - 1]++;
      const seen = boot.lastSeen[found.manifest];
      const before = seen[found.crumb.id - 1];
      if (!before || compareSightings(before, sighting) <= 0) seen[found.crumb.id - 1] = sighting;
      if (!boot.last || compareSightings(boot.last, sighting) <= 0) boot.last = sighting;
      boot.crumbs++;
    });
  }

  /**
   * Ring entries read after a report (the dump on oops, the debugfs file copied after a warning) run on
   * past the report's time, and the kept trail may lose the entry just before it: the entry `next`
   * follows is its thread's last before every report timed between the two.
   */
  private keepLastBeforeReports(boot: Boot, next: Sighting): void {
    const previous = boot.threads.last(next.thread);
    if (!previous?.fromDump || previous.time === undefined || next.time === undefined) return;
    for (const report of boot.reports.reports) {
      if (report.time !== undefined && previous.time < report.time && report.time <= next.time) boot.lastAtReport.get(report)?.set(next.thread, previous);
    }
  }

  private newBoot(index: number, firstLine: string, offset: number, marker: boolean, lineNumber?: number): Boot {
    return {
      index,
      firstLine: shorten(firstLine),
      firstLineNumber: lineNumber,
      firstOffset: offset,
      marker,
      threads: new ThreadTrails(this.options.trail + 1),
      locks: new LockTracker(this.catalog),
      printed: this.options.resolver.manifests.map((m) => new Uint32Array(m.crumbs.length)),
      lastSeen: this.options.resolver.manifests.map((m) => new Array<Sighting | undefined>(m.crumbs.length)),
      crumbs: 0,
      reports: new ReportParser(),
      lastAtReport: new WeakMap(),
      dropped: 0,
      timedLines: 0,
      ringDumps: [],
    };
  }
}

function shorten(text: string): string {
  const t = text.length > MAX_LINE_TEXT ? `${text.slice(0, MAX_LINE_TEXT)}...` : text;
  // control bytes would garble a terminal; keep the rest as it came
  return t.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

/** Mostly printable ASCII (tabs included): binary garbage is not. */
export function looksLikeText(text: string): boolean {
  const head = text.length > 256 ? text.slice(0, 256) : text;
  if (head.trim() === '') return false;
  let printable = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 9) printable++;
  }
  return printable >= head.length * 0.8;
}
