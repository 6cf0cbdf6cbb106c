/**
 * Reads the kernel's reports out of a log, one line at a time (the caller peels the capture format off
 * with parseLogLine). Linear: each line is tested once against one pre-filter, and only report headers
 * against the kind table. Lines go to the report of their printk caller id when the log has them (two
 * CPUs' reports interleaved stay apart), else to the report begun last. A report cut off by the end of
 * the log is kept as far as it got.
 */
import type { LogLine } from '../log/log-line.js';
import { parseFrame, parsePcLine, type Frame } from './frame.js';
import { ANY_HEADER, REPORT_KINDS, titleName, type Death, type KindId, type ReportKind } from './kinds.js';
import { isGeneric } from './skip.js';
import { guiltyFrame, stallName } from './title.js';

export interface KernelReport {
  kind: KindId;
  death: Death;
  /** `<what> in <guilty function>`, as syzbot titles crashes; empty for an NMI backtrace. */
  title: string;
  /** The header line's text, shortened. */
  header: string;
  lineNumber?: number;
  offset: number;
  /** Seconds since boot of the header line, when it has such a timestamp. */
  time?: number;
  /** The printk caller id the report's lines carry (`T123`, `C1`), when the log has them. */
  caller?: string;
  /** CPUs the report is about (a lockup: the stuck ones; an oops: the one that faulted). */
  cpus: number[];
  task?: string;
  pid?: number;
  workqueue?: string;
  /** The work item's function, from the `Workqueue:` line. */
  work?: string;
  /** Innermost first: the RIP/pc line, then the call trace. */
  frames: Frame[];
  guilty?: Frame;
  /** file:line the report itself names (`WARNING: ... at file:line`, `kernel BUG at file:line!`). */
  source?: { file: string; line: number };
  /** What the faulting access did: `read`, `write`, `instruction fetch` (page faults, KASAN). */
  access?: string;
  /** The report ended in `Kernel panic - not syncing`. */
  panicked: boolean;
  panic?: string;
  /** Begun while an earlier report of the same CPU or task was still printing (an oops inside an oops). */
  nested: boolean;
  /** NMI backtraces the report asked for (RCU stalls, hard lockups, hung tasks), by CPU. */
  backtraces: KernelReport[];
}

interface Open {
  report: KernelReport;
  spec: ReportKind;
  header?: Frame;
  lines: number;
  idle: number;
  /** Past the call trace: `Allocated by task`, the lock list, registers after `---[ end trace ]---`. */
  done: boolean;
  interrupt: boolean;
  /** lock-at kinds: the anchor line was seen; frames only after `stack backtrace:`. */
  anchored: boolean;
  traced: boolean;
  lockAt?: Frame;
  /** Index in the frames of the first RIP/pc line (one without a symbol counts): the title's stack starts there. */
  pcAt?: number;
  /** Index in the frames where the first `Call Trace:` began: frames before it are a report's asides (`Preemption disabled at:`). */
  traceAt?: number;
  /** A workqueue leak's `last function:`. */
  lastFunction?: string;
}

/** The rest of a hung-task header cut by a newline in the task's name. */
const CUT_TASK_REST = /^\S.*:\d+ blocked (?:in I\/O wait )?for more than \d+ seconds/;
const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)/;
const TASK_LINE = /^task:(\S+)\s+state:\S+.*? pid:\s*(\d+)/;
const WORKQUEUE = /^Workqueue: (\S+) ([A-Za-z_][\w.]*)/;
const END_TRACE = /^---\[ end (trace|Kernel panic)/;
const PF_ACCESS = /^#PF: (?:supervisor|user) (read|write|instruction fetch) access/;
const KASAN_ACCESS = /^(Read|Write) (?:of size \d+ (?:at addr|by task)|at addr)/;
const SOURCE = /\bat (\S+?):(\d+)/;
const AFTER_TRACE = /^(?:Allocated by task|Freed by task|The buggy address|Memory state around|Last potentially related|Second to last potentially|Showing all locks held|\d+ locks? held by|Kernel Offset:|Sending NMI from CPU|Dumping ftrace buffer|Uninit was created at|Local variable .* created at)/;
const LOCK_AT = /\bat: (?:\[<[0-9a-f]+>\] )?([A-Za-z_][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?)/;
const HEADER_FN = /\bin ([A-Za-z_][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?)|\bat \S+ ([A-Za-z_][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?)/;

/** A report's own lines stop after this many that say nothing a report says (registers count). */
const IDLE_LINES = 60;
const MAX_REPORT_LINES = 600;
/** A panic this many lines after a report is how that report ended. */
const PANIC_REACH = 400;
/** `Oops:` and `invalid opcode:` continue a report begun this many lines before. */
const CONTINUE_REACH = 24;
const MAX_FRAMES = 64;
/** Reports after which the kernel prints other CPUs' stacks as `NMI backtrace for cpu N`. */
const ASKS_BACKTRACES = new Set<KindId>(['rcu-stall', 'hard-lockup', 'soft-lockup', 'hung-task', 'spinlock']);
/** Memory stays bounded: the first reports (the cause) and the last ones (the end) are kept. */
const KEEP_FIRST = 24;
const KEEP_LAST = 40;

export class ReportParser {
  /** In log order, NMI backtraces included (they also sit in their report's `backtraces`). */
  readonly reports: KernelReport[] = [];
  private readonly open = new Map<string, Open>();
  /** Begun and not titled yet: a stall waits for the NMI backtraces it asked for. */
  private readonly unfinished = new Set<Open>();
  private latest?: Open;
  private lineCount = 0;
  private latestLine = 0;
  private ending = false;
  /** The line before, when it began a hung-task header that a newline in the task's name cut. */
  private cutTask?: { text: string; context: string };

  feed(line: LogLine, lineNumber: number | undefined, offset: number): void {
    this.lineCount++;
    const raw = line.text.length > 512 ? line.text.slice(0, 512) : line.text;
    const context = line.caller ?? '';
    const text = this.joinCutTask(raw.trimStart(), context);
    if (ANY_HEADER.test(text) && this.header(text, line, context, lineNumber, offset)) return;
    // A report's lines carry its printer's caller id; one begun in interrupt context (`C1`) may go on in
    // the interrupted task's (`T400`): a line of no open report of its own goes to the latest one.
    const open = (context ? this.open.get(context) : undefined) ?? this.latest;
    if (!open) return;
    if (++open.lines > MAX_REPORT_LINES || ++open.idle > IDLE_LINES) return this.close(open);
    if (this.body(open, text)) open.idle = 0;
  }

  /**
   * A task's name may hold a newline (it is whatever the task set): `INFO: task ab` then `cd:123 blocked
   * for more than 143 seconds.` is one hung-task header, joined here.
   */
  private joinCutTask(text: string, context: string): string {
    const cut = this.cutTask;
    this.cutTask = undefined;
    if (text.startsWith('INFO: task ') && !text.includes(' seconds')) this.cutTask = { text, context };
    return cut && cut.context === context && CUT_TASK_REST.test(text) ? `${cut.text} ${text}` : text;
  }

  /** Titles every report still open (a log cut off mid-report); call once at the end. */
  end(): KernelReport[] {
    this.ending = true;
    for (const open of [...this.unfinished]) this.close(open);
    return this.reports;
  }

  /** True when the line was a report header (of a new report or one it continues). */
  private header(full: string, line: LogLine, context: string, lineNumber: number | undefined, offset: number): boolean {
    // kernels before 4.14 print lockdep's headers in brackets: `[ INFO: possible recursive locking detected ]`
    const text = full.startsWith('[ ') && full.trimEnd().endsWith(' ]') ? full.trim().slice(2, -2) : full;
    let spec: ReportKind | undefined;
    let m: RegExpExecArray | null = null;
    for (const kind of REPORT_KINDS) {
      if ((m = kind.header.exec(text))) {
        spec = kind;
        break;
      }
    }
    if (!spec || !m) return false;
    const current = context ? this.open.get(context) : this.latest;
    if (this.continues(spec, current, text)) {
      current!.idle = 0;
      return true;
    }
    if (spec.panics && this.endsInPanic(m[1])) return true;

    const report: KernelReport = {
      kind: spec.kind,
      death: spec.death,
      title: '',
      header: text.trim().slice(0, 200),
      offset,
      cpus: [],
      frames: [],
      panicked: spec.panics === true,
      nested: current !== undefined && !current.done && spec.kind !== 'nmi-backtrace',
      backtraces: [],
    };
    if (lineNumber !== undefined) report.lineNumber = lineNumber;
    if (line.time !== undefined) report.time = line.time;
    if (line.caller) report.caller = line.caller;
    fieldsOfHeader(report, spec, m, text);
    if (spec.panics) report.panic = m[1].trim();
    const headerFrame = headerFunction(text);
    if (spec.kind === 'nmi-backtrace') this.attachBacktrace(report);
    if (current && spec.kind !== 'nmi-backtrace') this.close(current);
    const open: Open = { report, spec, header: headerFrame, lines: 0, idle: 0, done: false, interrupt: false, anchored: false, traced: false };
    // KASAN/KFENCE/KMSAN name the faulting function in the header: the stack starts there
    if (headerFrame && (spec.kind === 'kasan' || spec.kind === 'kfence' || spec.kind === 'kcsan' || spec.kind === 'kmsan')) report.frames.push({ ...headerFrame, pc: true });
    this.open.set(context, open);
    this.unfinished.add(open);
    this.latest = open;
    this.latestLine = this.lineCount;
    this.keep(report);
    return true;
  }

  /** `Oops: 0002 [#1]` after `BUG: unable to handle ...`, `kernel BUG at lib/list_debug.c` after `list_add corruption`. */
  private continues(spec: ReportKind, current: Open | undefined, text: string): boolean {
    if (!current || current.done || current.lines > CONTINUE_REACH) return false;
    // an old kernel's `IP: fn+0x..` line comes before the `Oops:` line: a RIP is not yet a call trace
    if (spec.continues && current.report.frames.every((f) => f.pc)) return true;
    if (spec.kind === 'list-corruption' && current.spec.kind === 'list-corruption' && !/^list_/.test(text)) return true;
    // a WARNING or BUG about a corrupted list, or the oops line of a BUG_ON, says the same as its first line
    if (current.spec.kind === 'list-corruption' && (spec.kind === 'kernel-bug' || spec.kind === 'warning') && /lib\/list_debug\.c/.test(text)) return true;
    return false;
  }

  /** `Kernel panic - not syncing` after a report: that report panicked. False when it is a report of its own. */
  private endsInPanic(reason: string): boolean {
    const last = lastOf(this.reports, (r) => r.kind !== 'nmi-backtrace' && !r.panicked);
    if (!last || this.lineCount - this.latestLine > PANIC_REACH) return false;
    if (/^stack-protector:/.test(reason)) return false;
    // the report goes on after it (panic_on_warn prints the stack after the panic line)
    last.panicked = true;
    last.panic = reason.trim();
    return true;
  }

  private attachBacktrace(backtrace: KernelReport): void {
    const asker = lastOf(this.reports, (r) => r.kind !== 'nmi-backtrace');
    if (!asker || !ASKS_BACKTRACES.has(asker.kind)) return;
    if (this.lineCount - this.latestLine > PANIC_REACH) return;
    asker.backtraces.push(backtrace);
  }

  /** One line inside a report; true when it was one a report prints. */
  private body(open: Open, text: string): boolean {
    const report = open.report;
    let m: RegExpExecArray | null;
    if (END_TRACE.test(text)) {
      open.done = true;
      if (text.includes('Kernel panic')) report.panicked = true;
      return true;
    }
    if ((m = CPU_LINE.exec(text))) {
      if (report.cpus.length === 0 || report.kind === 'hung-task') addCpu(report, Number(m[1]));
      report.pid ??= Number(m[2]);
      report.task ??= m[3];
      return true;
    }
    if ((m = TASK_LINE.exec(text))) {
      report.task ??= m[1];
      report.pid ??= Number(m[2]);
      return true;
    }
    if ((m = WORKQUEUE.exec(text))) {
      report.workqueue ??= m[1];
      report.work ??= m[2];
      return true;
    }
    if (report.kind === 'rcu-stall' && report.frames.length === 0 && (m = /^(?:rcu:)?\s*(\d{1,5})-[.\w!]{3,}:? \(/.exec(text))) {
      addCpu(report, Number(m[1]));
      return true;
    }
    if ((m = PF_ACCESS.exec(text) ?? KASAN_ACCESS.exec(text))) {
      report.access ??= m[1].toLowerCase();
      return true;
    }
    if (open.done) return false;
    // before AFTER_TRACE: `1 lock held by task/1:` is the anchor of the locks a report is about
    if (open.spec.guilty === 'lock-at') {
      if (open.spec.anchor!.test(text)) open.anchored = true;
      else if (open.anchored && !open.lockAt && !open.traced) open.lockAt = lockAtFrame(text);
      if (text.startsWith('stack backtrace:')) open.traced = true;
      if (!open.traced) return true;
    }
    if (AFTER_TRACE.test(text)) {
      open.done = open.traced || report.frames.some((f) => !f.pc);
      return true;
    }
    if (text.startsWith('Call Trace:') || text.startsWith('Call trace:') || text.startsWith('Backtrace:')) {
      open.traced = true;
      open.traceAt ??= report.frames.length;
      return true;
    }
    // a workqueue lockup lists the pools and their work items before the busy workers' backtraces
    if (report.kind === 'workqueue-lockup' && /^(?:workqueue \S+: flags|pwq \d+:|pending:|in-flight:|inactive:|pool \d+:|Showing )/.test(text)) return true;
    if (open.spec.guilty === 'last-function' && (m = /last function: ([A-Za-z_][\w.]*)/.exec(text))) {
      open.lastFunction ??= m[1];
      return true;
    }
    let rest = text;
    if (rest.includes('<')) {
      if (/<(?:IRQ|NMI)>/.test(rest)) open.interrupt = true;
      if (/<\/(?:IRQ|NMI)>|<EOI>|<TASK>/.test(rest)) open.interrupt = false;
      rest = rest.replace(/<\/?(?:IRQ|NMI|TASK|EOI)>/g, '').trimStart();
      if (rest === '') return true;
    }
    if (report.frames.length >= MAX_FRAMES) return false;
    const frame = parsePcLine(rest) ?? parseFrame(rest);
    if (!frame) {
      // `RIP: 0010:0xffffffffffffffff`: a jump to nowhere still marks where the faulting stack starts
      if (open.pcAt === undefined && /^(?:R?IP|pc|PC is at|NIP|EIP)\b/.test(rest) && !/^R?IP: 00[23]3:/.test(rest)) open.pcAt = report.frames.length;
      return false;
    }
    if (frame.pc && open.pcAt === undefined && !/^R?IP: 00[23]3:/.test(rest)) open.pcAt = report.frames.length;
    if (open.interrupt && !frame.pc) frame.interrupt = true;
    // the registers are printed again after `---[ end trace ]---` and at each nested level: one RIP each
    if (frame.pc && report.frames.some((f) => f.pc && f.symbol === frame.symbol && f.offset === frame.offset)) return true;
    report.frames.push(frame);
    return true;
  }

  private close(open: Open): void {
    const report = open.report;
    for (const [key, value] of this.open) if (value === open) this.open.delete(key);
    if (this.latest === open) this.latest = undefined;
    // a report that asks for NMI backtraces is titled at the end, when they have all arrived
    if (this.ending || !ASKS_BACKTRACES.has(report.kind)) this.title(open);
  }

  private title(open: Open): void {
    const report = open.report;
    this.unfinished.delete(open);
    if (!report.title && report.kind !== 'nmi-backtrace') {
      const match = open.spec.header.exec(report.header) ?? ([report.header] as unknown as RegExpExecArray);
      const skip = typeof open.spec.skip === 'function' ? open.spec.skip(match) : open.spec.skip;
      const guilty = (open.spec.guilty === 'lock-at' && open.lockAt) || guiltyFrame(report, open.header, { skip, pick: open.spec.pick }, open.pcAt, open.traceAt);
      if (guilty) report.guilty = guilty;
      // a kind titled without a function still blames a frame for the answer (a panic's caller)
      const named = open.spec.guilty === 'last-function' ? open.lastFunction : open.spec.guilty === 'work' ? report.work : open.spec.guilty === 'none' ? undefined : open.spec.pick === 'stall' && guilty ? stallName(guilty.function) : guilty?.function;
      report.title = titleOf(open.spec, match, report.access, named, report.frames.length > 0 || report.backtraces.length > 0 || open.pcAt !== undefined);
    }
  }

  private keep(report: KernelReport): void {
    this.reports.push(report);
    if (this.reports.length > KEEP_FIRST + KEEP_LAST) this.reports.splice(KEEP_FIRST, 1);
  }
}

/** The kind's title with its guilty function; `corrupted`, as syzbot says it, when the stack names none. */
function titleOf(spec: ReportKind, match: RegExpExecArray, access: string | undefined, guilty: string | undefined, stack: boolean): string {
  const title = spec.title(match).replace('%a', access === 'read' ? ' Read' : access === 'write' ? ' Write' : '');
  if (guilty) return title.replace('%f', titleName(guilty));
  // a header and nothing after it: the kind alone; a stack that names nobody: `corrupted`
  return !stack ? title.replace(/ in %f$/, '').replace('%f', 'corrupted') : title.replace('%f', 'corrupted');
}

function fieldsOfHeader(report: KernelReport, spec: ReportKind, m: RegExpExecArray, text: string): void {
  switch (spec.kind) {
    case 'soft-lockup':
      report.cpus.push(Number(m[1]));
      report.task = m[2];
      report.pid = Number(m[3]);
      break;
    case 'hard-lockup':
    case 'nmi-backtrace':
      report.cpus.push(Number(m[1]));
      break;
    case 'unknown-nmi':
      if (m[2] !== undefined) report.cpus.push(Number(m[2]));
      break;
    case 'hung-task':
      report.task = m[1];
      report.pid = Number(m[2]);
      break;
    case 'scheduling-while-atomic':
      report.task = m[1];
      report.pid = Number(m[2]);
      break;
    case 'warning':
    case 'kernel-bug':
    case 'list-corruption': {
      const source = /^WARNING: (\S+?):(\d+) at /.exec(text) ?? SOURCE.exec(text);
      if (source) report.source = { file: source[1], line: Number(source[2]) };
      const who = /^WARNING: CPU: (\d+) PID: (\d+)/.exec(text);
      if (who) {
        report.cpus.push(Number(who[1]));
        report.pid = Number(who[2]);
      }
      const where = /, CPU#(\d+): (\S+)\/(\d+)/.exec(text);
      if (where) {
        report.cpus.push(Number(where[1]));
        report.task = where[2];
        report.pid = Number(where[3]);
      }
      break;
    }
  }
}

/** `BUG: KASAN: ... in remap_lookup+0x12/0x40 [dm_remap]`, `WARNING: ... at f.c:1 remap_map+0x3b/0x120`. */
function headerFunction(text: string): Frame | undefined {
  const m = HEADER_FN.exec(text);
  return m ? parseFrame(m[1] ?? m[2]) : undefined;
}

/**
 * The frame a lock-at line names: `(lock){..}, at: fn+0x..` as printed, or a frame printed alone on the
 * lines after the anchor (`[<..>] fn+0x..`, a stack), the first of those that is not generic.
 */
function lockAtFrame(text: string): Frame | undefined {
  const m = LOCK_AT.exec(text);
  if (m) return parseFrame(m[1]);
  const frame = parseFrame(text);
  return frame && frame.reliable && !isGeneric(frame.function) ? frame : undefined;
}

function addCpu(report: KernelReport, cpu: number): void {
  if (!report.cpus.includes(cpu)) report.cpus.push(cpu);
}

function lastOf(reports: readonly KernelReport[], wanted: (r: KernelReport) => boolean): KernelReport | undefined {
  for (let i = reports.length - 1; i >= 0; i--) if (wanted(reports[i])) return reports[i];
  return undefined;
}
