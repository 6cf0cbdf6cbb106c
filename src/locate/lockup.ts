/**
 * What the kernel printed when it noticed the hang: soft lockup, hard lockup, RCU stall, hung task and
 * NMI backtraces, with the frames that follow them. A frame in an instrumented function is a second
 * opinion on where the CPU stopped, independent of printk reaching the console.
 */
import type { LogLine } from './log-line.js';

export type LockupKind = 'soft-lockup' | 'hard-lockup' | 'rcu-stall' | 'hung-task' | 'nmi-backtrace';

export interface Frame {
  /** Function name as printed, e.g. `dmbc_map.isra.0`. */
  symbol: string;
  /** The C function: the symbol without gcc's `.isra.0`, `.cold`, `.constprop.0` suffixes. */
  function: string;
  offset: number;
  size: number;
  module?: string;
  /** False for ` ? fn+0x..` frames, which the unwinder only guessed. */
  reliable: boolean;
}

export interface LockupReport {
  kind: LockupKind;
  /** The header line's text, shortened. */
  header: string;
  lineNumber?: number;
  offset: number;
  /** Seconds since boot of the header line, when it has such a timestamp. */
  time?: number;
  /** CPUs the report names as stuck (for an NMI backtrace: the CPU it is for). */
  cpus: number[];
  task?: string;
  pid?: number;
  /** The backtrace after the header, innermost first (RIP/pc first). */
  frames: Frame[];
}

const HEADERS: [LockupKind, RegExp][] = [
  ['soft-lockup', /BUG: soft lockup - CPU#(\d+) stuck for \d+s! \[(.*):(\d+)\]/],
  ['hard-lockup', /Watchdog detected hard LOCKUP on cpu (\d+)/],
  ['rcu-stall', /rcu_\w+ (?:self-detected stall on CPU|detected stalls on CPUs\/tasks)/],
  ['hung-task', /INFO: task (.*):(\d+) blocked for more than \d+ seconds/],
  ['nmi-backtrace', /NMI backtrace for cpu (\d+)/],
];
/** What every header above contains: one scan of a line instead of five. */
const ANY_HEADER = /soft lockup|hard LOCKUP|rcu_|INFO: task |NMI backtrace/;
const RCU_CPU = /^(?:rcu:)?\s*(\d{1,5})-[.\w!]{3,}:? \(/;
const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)/;
const PC_LINE = /^(?:RIP: [0-9a-f]{4}:|pc : |lr : |PC is at |NIP \[[0-9a-f]+\] )(.*)$/;
const FRAME = /^\s*(\? )?([A-Za-z_][\w.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?: \[([\w-]+)\])?/;
/** Frames of one report come right after it; later frames belong to someone else. */
const REPORT_SPAN_LINES = 160;
const MAX_FRAMES = 64;
const MAX_REPORTS = 32;

export class LockupParser {
  /** The most recent reports, oldest first. */
  readonly reports: LockupReport[] = [];
  private open?: LockupReport;
  private linesSinceHeader = 0;

  feed(line: LogLine, lineNumber: number | undefined, offset: number): void {
    const text = line.text.length > 512 ? line.text.slice(0, 512) : line.text;
    const report = headerOf(text);
    if (report) {
      report.lineNumber = lineNumber;
      report.offset = offset;
      if (line.time !== undefined) report.time = line.time;
      this.reports.push(report);
      if (this.reports.length > MAX_REPORTS) this.reports.shift();
      this.open = report;
      this.linesSinceHeader = 0;
      return;
    }
    const open = this.open;
    if (!open) return;
    if (++this.linesSinceHeader > REPORT_SPAN_LINES) {
      this.open = undefined;
      return;
    }
    let m: RegExpExecArray | null;
    if (open.kind === 'rcu-stall' && open.frames.length === 0 && (m = RCU_CPU.exec(text))) {
      addCpu(open, Number(m[1]));
    } else if ((m = CPU_LINE.exec(text))) {
      if (open.cpus.length === 0 || open.kind === 'hung-task') addCpu(open, Number(m[1]));
      open.pid ??= Number(m[2]);
      open.task ??= m[3];
    } else if (open.frames.length < MAX_FRAMES) {
      const pc = PC_LINE.exec(text);
      const frame = parseFrame(pc ? pc[1] : text);
      if (frame) open.frames.push(frame);
    }
  }
}

function headerOf(text: string): LockupReport | undefined {
  if (!ANY_HEADER.test(text)) return undefined;
  for (const [kind, pattern] of HEADERS) {
    const m = pattern.exec(text);
    if (!m) continue;
    const report: LockupReport = { kind, header: text.trim().slice(0, 200), offset: 0, cpus: [], frames: [] };
    if (kind === 'soft-lockup') {
      report.cpus.push(Number(m[1]));
      report.task = m[2];
      report.pid = Number(m[3]);
    } else if (kind === 'hard-lockup' || kind === 'nmi-backtrace') {
      report.cpus.push(Number(m[1]));
    } else if (kind === 'hung-task') {
      report.task = m[1];
      report.pid = Number(m[2]);
    }
    return report;
  }
  return undefined;
}

function addCpu(report: LockupReport, cpu: number): void {
  if (!report.cpus.includes(cpu)) report.cpus.push(cpu);
}

/** ` ? dmbc_map.isra.0+0x45/0x90 [dmbc]` -> frame; anything else -> undefined. */
export function parseFrame(text: string): Frame | undefined {
  const m = FRAME.exec(text);
  if (!m) return undefined;
  const frame: Frame = {
    symbol: m[2],
    function: m[2].split('.')[0],
    offset: parseInt(m[3], 16),
    size: parseInt(m[4], 16),
    reliable: !m[1],
  };
  if (m[5]) frame.module = m[5];
  return frame;
}

/** The innermost frame in an instrumented function, preferring frames the unwinder was sure of. */
export function topInstrumentedFrame(frames: readonly Frame[], instrumented: ReadonlySet<string>): Frame | undefined {
  const ours = frames.filter((frame) => instrumented.has(frame.function));
  return ours.find((frame) => frame.reliable) ?? ours[0];
}
