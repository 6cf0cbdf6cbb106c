/**
 * From an analysed log to the answer: which breadcrumb the freeze is at or after, on which thread, what
 * could have printed next, whether the kernel's own hang reports agree, and what to be wary of.
 */
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';
import { reachesByCalls, successorsOf } from '../manifest/successors.js';
import type { Boot, LogAnalysis, RingDump } from './analyze.js';
import { cycleOf, type CycleReport } from './livelock.js';
import { quietLoop, type QuietLoop } from './crumb-notes.js';
import { topInstrumentedFrame, type Frame } from '../reports/frame.js';
import type { KernelReport } from '../reports/parse.js';
import { deathOf, injectedOf, notAFreeze } from './death.js';
import type { CrumbResolver } from './resolve.js';
import type { HeldLock } from './locks.js';
import { findRoot, type LockWait, type Root } from './root.js';
import { compareSightings, lastOf, type Sighting, type Thread } from './threads.js';
import { syncOpsOf } from './sync-ops.js';
import { analyzeWaits, type Task, type TaskWait } from './waits.js';
import { rootFromWaits } from './wait-words.js';

export interface LocateInput {
  analysis: LogAnalysis;
  resolver: CrumbResolver;
  /** The analysis began at the log's first byte (boot numbers and line numbers are absolute). */
  fromStart: boolean;
  /** The analysis went on to the log's last byte (the boot count is complete). */
  toEnd: boolean;
}

export interface NextCrumb {
  manifest: number;
  crumb: ManifestCrumb;
  /** How often it printed in this boot before (a loop head that printed 1000 times is no news). */
  printed: number;
  /** It reached --loop-limit: it would not print again even if it ran. */
  quiet?: boolean;
}

export interface LockupCheck {
  report: KernelReport;
  /** Innermost frame in an instrumented function, if any. */
  frame?: Frame;
  /** The report is about the answer's CPU or task. */
  sameThread: boolean;
  /** agrees-inlined: the frame's function calls the breadcrumb's, which the compiler inlined into it. */
  verdict: 'agrees' | 'agrees-inlined' | 'disagrees' | 'no-instrumented-frame';
}

/** A kernel report and the breadcrumb its CPU or task printed last before it. */
export interface ReportCheck {
  report: KernelReport;
  /** The last breadcrumb the report's task (or CPU) printed before the report, if any. */
  crumb?: Sighting;
  /** Innermost frame in an instrumented function, if any. */
  frame?: Frame;
  /** The guilty frame's function against the breadcrumb's: see LockupCheck. */
  verdict: LockupCheck['verdict'] | 'no-breadcrumb';
}

export interface BootSummary {
  /** 1-based number among the boots in the log, when the log was read from its start. */
  number?: number;
  /** Boots in the log, when it was read to its end (and from its start). */
  count?: number;
  /** Boots in the part of the log that was read. */
  seen: number;
  firstLine: string;
  firstLineNumber?: number;
  firstOffset: number;
  marker: boolean;
  /** Messages the log says it lost in this boot. */
  dropped: number;
  /** The machine powered off, halted or restarted as asked (`reboot: Power down`), after the last breadcrumb. */
  shutdown?: { text: string; offset: number; lineNumber?: number };
}

export interface Answer {
  status: 'found' | 'none';
  /** The thread at the root of the freeze and where it was (may be another CPU than `last`'s). */
  root?: Root;
  /** Threads whose last statement takes a lock, with who holds it. */
  waits: LockWait[];
  /** Tasks stopped at a statement that never completed (a sleeping hang's sleepers among them). */
  tasks: Task[];
  /** Of those, the ones asleep in a wait or a sleeping lock, with who holds each up. */
  sleeps: TaskWait[];
  /** Per thread key, the locks its trail took and did not drop. */
  held: ReadonlyMap<string, readonly HeldLock[]>;
  /** The last breadcrumb printed (or the stuck CPU's, see `choice`). */
  last?: Sighting;
  /** Why this breadcrumb and not simply the last one printed, when it is not. */
  choice?: string;
  /** The answer's thread first, then the others by their last breadcrumb, latest first. */
  threads: Thread[];
  next: NextCrumb[];
  /** The answer's thread went round a cycle at the end: a livelock, or a stop inside a loop (see livelock). */
  cycle?: CycleReport;
  /** Cycles at the end of the other threads' histories, by thread key. */
  otherCycles: Map<string, CycleReport>;
  boot?: BootSummary;
  lockups: LockupCheck[];
  /** Every report the kernel printed in this boot (NMI backtraces aside), in log order. */
  reports: ReportCheck[];
  /** The report that tells how the run ended (an oops before the lockups it caused), when there is one. */
  death?: ReportCheck;
  /** The NMI sent from outside that ended the run (never the death: the run had frozen before it). */
  injected?: ReportCheck;
  warnings: string[];
  /** For status none: what to check. */
  hint?: string;
  /** The last breadcrumb is in a loop and reached --loop-limit: the loop may have gone on silently. */
  quietLoop?: QuietLoop;
  /** The last breadcrumb came from this ring dump (--sink ring), printed when the kernel died. */
  ringDump?: RingDump;
}

/** Reports that name stuck CPUs (an NMI backtrace alone names only whose stack it is). */
const STUCK_KINDS = new Set(['soft-lockup', 'hard-lockup', 'rcu-stall']);
const MAX_LOCKUPS = 8;
/** The reports `lockups` held before `reports` (kept the same for one release). */
const LOCKUP_KINDS = new Set(['soft-lockup', 'hard-lockup', 'rcu-stall', 'hung-task', 'nmi-backtrace']);

/** A crash, bug or hang report (an NMI backtrace is only a stack some report asked for). */
function isReport(report: KernelReport): boolean {
  return report.kind !== 'nmi-backtrace';
}

/** Ties a report to the last breadcrumb its task (or, without caller ids, its CPU) printed before it. */
function checkReport(report: KernelReport, threads: readonly Thread[], instrumented: ReadonlySet<string>, manifests: readonly Manifest[], lastAtReport?: Map<string, Sighting>): ReportCheck {
  const keys = [report.caller, report.pid !== undefined ? `T${report.pid}` : undefined].filter((k): k is string => k !== undefined && k.startsWith('T'));
  // the trail, else (it went on past its kept length after the report) its last breadcrumb when the report began
  const before = (thread: Thread) => [...thread.crumbs].reverse().find((s) => reportedAfter(report, s)) ?? lastAtReport?.get(thread.key);
  let crumb: Sighting | undefined;
  for (const key of keys) {
    const thread = threads.find((t) => t.key === key);
    if (thread && (crumb = before(thread))) break;
  }
  if (!crumb && report.cpus.length > 0) {
    // no task match: the latest breadcrumb printed on the report's CPU before it
    for (const thread of threads) {
      const onCpu = (c: Sighting | undefined) => c !== undefined && c.cpu === report.cpus[0];
      const s = [...thread.crumbs].reverse().find((c) => reportedAfter(report, c) && onCpu(c)) ?? [lastAtReport?.get(thread.key)].find(onCpu);
      if (s && (!crumb || compareSightings(s, crumb) > 0)) crumb = s;
    }
  }
  const frames = report.frames.length > 0 ? report.frames : (report.backtraces[0]?.frames ?? []);
  const frame = topInstrumentedFrame(frames, instrumented);
  if (!crumb) return { report, frame, verdict: 'no-breadcrumb' };
  const manifest = manifests[crumb.manifest];
  let verdict: ReportCheck['verdict'] = 'no-instrumented-frame';
  if (frame && frame.function === crumb.crumb.function) verdict = 'agrees';
  else if (frame && reachesByCalls(manifest, frame.function, crumb.crumb.function)) verdict = 'agrees-inlined';
  else if (frame) verdict = 'disagrees';
  return { report, crumb, frame, verdict };
}

export function locateFreeze(input: LocateInput): Answer {
  const { analysis, resolver } = input;
  const warnings = tagWarnings(input);
  const boot = analysis.boot;
  if (!boot?.last) {
    const reports = analysis.reports.filter(isReport).map((report): ReportCheck => ({ report, verdict: 'no-breadcrumb' }));
    const death = deathOf(reports);
    return { status: 'none', waits: [], tasks: [], sleeps: [], held: new Map(), threads: [], next: [], otherCycles: new Map(), lockups: [], reports, death, injected: injectedOf(reports), warnings, hint: noneHint(input, reports.length > 0) };
  }
  const threads = boot.threads.list();
  const { last, choice } = chooseLast(boot, threads);
  const answerThread = threads.find((thread) => thread.key === last.thread)!;
  const ordered = [answerThread, ...threads.filter((thread) => thread !== answerThread)];
  const manifest = resolver.manifests[last.manifest];
  const next = successorsOf(manifest, last.crumb).map((crumb) => {
    const printed = boot.printed[last.manifest][crumb.id - 1];
    return { manifest: last.manifest, crumb, printed, ...(quietLoop(manifest, crumb, printed) ? { quiet: true } : {}) };
  });
  if (analysis.lastUnknownOffset !== undefined && analysis.lastUnknownOffset > last.offset) {
    warnings.push(
      'breadcrumbs of an unknown tag printed after this answer: the freeze may be in code instrumented by another run (pass its manifest with --manifest)',
    );
  }
  if (boot.dropped > 0) {
    const after = boot.droppedAt !== undefined && boot.droppedAt > last.offset;
    warnings.push(
      `the log lost ${boot.dropped} message(s) in this boot${after ? ' after the last breadcrumb' : ''} (dropped-message markers or sequence gaps): ${after ? 'later breadcrumbs may be missing' : 'the trail may have gaps'}`,
    );
  }
  const instrumented = resolver.functionNames();
  const found = findRoot({ threads, locks: boot.locks, reports: boot.reports.reports, last, manifests: resolver.manifests, instrumented });
  const sleeping = analyzeWaits({
    manifests: resolver.manifests,
    lastSeen: boot.lastSeen,
    threads,
    reports: boot.reports.reports,
    tracker: boot.locks,
    opsOf: (_m, crumb) => syncOpsOf(crumb),
  });
  // Tasks asleep: a CPU's trail mixes them, so its locks say nothing; a CPU the kernel saw spinning wins.
  const spinning = boot.reports.reports.some((r) => STUCK_KINDS.has(r.kind)) && !boot.reports.reports.some((r) => r.kind === 'hung-task');
  const asleep = sleeping.root !== undefined && !spinning;
  let root = asleep ? rootFromWaits(sleeping.root!) : found.root;
  const waits = asleep ? [] : found.waits;
  if (resolver.manifests.some((m) => m.level !== 'every-line') && (waits.length > 0 || root.lock)) {
    warnings.push('lock analysis reads only statements with breadcrumbs: below --level every-line a lock taken or dropped without one is not seen');
  }
  const cycles = new Map<string, CycleReport>();
  for (const thread of ordered) {
    const cycle = cycleOf(thread, resolver.manifests, quietUntil(boot, lastOf(thread)));
    // A thread that went round a loop and then stopped at a lock someone holds is blocked, not livelocked.
    if (cycle?.livelock && waits.some((wait) => wait.thread === thread.key && wait.holders.length > 0)) cycle.livelock = false;
    if (cycle) cycles.set(thread.key, cycle);
  }
  const cycle = cycles.get(answerThread.key);
  // the headline says livelock, and a lock the looping thread takes and drops each turn is no root: the
  // root is the livelock too
  const looping = cycle?.livelock ? answerThread : threads.find((t) => t.key === root.thread && cycles.get(t.key)?.livelock);
  if (looping) root = livelockRoot(cycles.get(looping.key)!, lastOf(looping));
  cycles.delete(answerThread.key);
  const running = runningFunctions(boot, resolver);
  const reports = boot.reports.reports.filter(isReport).map((report) => checkReport(report, threads, running, resolver.manifests, boot.lastAtReport.get(report)));
  const death = deathOf(reports);
  const summary = summarizeBoot(boot, input);
  // a machine that powered off as asked, or crashed or warned and went on, froze nowhere: no root and no
  // livelock, whatever the trails look like (a CPU that kept doing I/O goes round the same loop)
  const crashed = death !== undefined && notAFreeze(death.report.death);
  const shutDown = summary.shutdown !== undefined && !death && !cycle?.livelock;
  if (crashed && cycle) cycle.livelock = false;
  return {
    status: 'found',
    root: shutDown || crashed ? undefined : root,
    waits,
    tasks: sleeping.tasks,
    sleeps: asleep ? sleeping.waits : [],
    // asleep, a CPU's trail mixes tasks: only a task's own trail says what it holds (see tasks)
    held: new Map(threads.filter((t) => !asleep || /^T\d/.test(t.key)).map((thread) => [thread.key, boot.locks.held(thread.key)])),
    last,
    choice,
    threads: ordered,
    next,
    cycle,
    otherCycles: cycles,
    boot: summary,
    lockups: checkLockups(boot, last, running, manifest),
    reports,
    death,
    injected: injectedOf(reports),
    warnings,
    quietLoop: quietLoop(manifest, last.crumb, boot.printed[last.manifest][last.crumb.id - 1]),
    ringDump: last.fromDump ? [...boot.ringDumps].reverse().find((dump) => dump.offset <= last.offset) : undefined,
  };
}

function livelockRoot(cycle: CycleReport, last: Sighting): Root {
  const fns = [...new Set(cycle.cycle.map((p) => p.crumb.function))];
  return {
    reason: 'livelock',
    thread: last.thread,
    cpu: last.cpu,
    at: last,
    why: `${last.thread} went round a ${cycle.shape} of ${cycle.cycle.length} breadcrumb(s) in ${fns.map((f) => `${f}()`).join(', ')} ${cycle.repeats} time(s) and was still going: busy, not stopped at one line, and holding no lock for good`,
    confidence: cycle.stillGoing ? 'high' : 'medium',
    checks: [],
  };
}

/**
 * The report came after the breadcrumb ran: by place in the log, or for an entry of a ring dump (printed
 * when the kernel died, after the reports) by the clock.
 */
function reportedAfter(report: KernelReport, s: Sighting): boolean {
  if (s.fromDump && report.time !== undefined && s.time !== undefined) return report.time > s.time;
  return report.offset > s.offset;
}

/**
 * The last breadcrumb printed, unless the kernel reported other CPUs stuck (or, with caller ids, a task
 * blocked) after it and the printing CPU was not among them: then the stuck one's last breadcrumb.
 */
function chooseLast(boot: Boot, threads: Thread[]): { last: Sighting; choice?: string } {
  const latest = boot.last!;
  const later = boot.reports.reports.filter((report) => reportedAfter(report, latest));
  const stuck = new Set(later.filter((report) => STUCK_KINDS.has(report.kind)).flatMap((report) => report.cpus));
  if (stuck.size > 0 && !stuck.has(latest.cpu)) {
    const thread = threads.find((t) => stuck.has(lastOf(t).cpu));
    if (thread) {
      const last = lastOf(thread);
      return { last, choice: `CPU ${last.cpu} was reported stuck after CPU ${latest.cpu} printed #${latest.crumb.id}, and CPU ${latest.cpu} was not` };
    }
  }
  for (const report of later) {
    if (report.kind !== 'hung-task' || report.pid === undefined) continue;
    const thread = threads.find((t) => t.key === `T${report.pid}`);
    if (thread && thread.key !== latest.thread) {
      return { last: lastOf(thread), choice: `task ${report.task}:${report.pid} was reported blocked` };
    }
  }
  return { last: latest };
}

function checkLockups(boot: Boot, last: Sighting, instrumented: ReadonlySet<string>, manifest: Manifest): LockupCheck[] {
  const checks: LockupCheck[] = [];
  for (const report of boot.reports.reports) {
    if (!LOCKUP_KINDS.has(report.kind)) continue;
    const frame = topInstrumentedFrame(report.frames, instrumented);
    const sameThread = report.cpus.includes(last.cpu) || (report.pid !== undefined && last.thread === `T${report.pid}`);
    if (!sameThread && !frame) continue;
    let verdict: LockupCheck['verdict'] = 'no-instrumented-frame';
    if (frame && frame.function === last.crumb.function) verdict = 'agrees';
    else if (frame && reachesByCalls(manifest, frame.function, last.crumb.function)) verdict = 'agrees-inlined';
    else if (frame) verdict = 'disagrees';
    checks.push({ report, frame, sameThread, verdict });
  }
  return checks.slice(-MAX_LOCKUPS);
}

/**
 * Functions instrumented in the build that ran: those of the manifests whose breadcrumbs this boot
 * printed. An older run's manifest left in .kcrumb/ (the coarse run before a zoom) must not make a
 * backtrace frame look instrumented when that build is no longer the one running.
 */
function runningFunctions(boot: Boot, resolver: CrumbResolver): Set<string> {
  const names = new Set<string>();
  resolver.manifests.forEach((manifest, m) => {
    if (boot.printed[m].some((n) => n > 0)) for (const fn of manifest.functions) names.add(fn.name);
  });
  return names;
}

/**
 * Until when a thread's silence counts: the first hang report after its last breadcrumb (a watchdog that
 * interrupts a livelock reports at once, a deadlock is reported seconds later), else the log's last time.
 */
function quietUntil(boot: Boot, last: Sighting): number | undefined {
  const report = boot.reports.reports.find((r) => reportedAfter(r, last) && r.time !== undefined);
  return report?.time ?? boot.lastTime;
}

function summarizeBoot(boot: Boot, input: LocateInput): BootSummary {
  const { analysis, fromStart, toEnd } = input;
  const summary: BootSummary = {
    seen: analysis.bootCount,
    firstLine: boot.firstLine,
    firstLineNumber: boot.firstLineNumber,
    firstOffset: boot.firstOffset,
    marker: boot.marker,
    dropped: boot.dropped,
  };
  if (boot.shutdown && (!boot.last || boot.shutdown.offset > boot.last.offset)) {
    summary.shutdown = boot.shutdown;
  }
  if (fromStart) summary.number = boot.index + 1;
  if (fromStart && toEnd) summary.count = analysis.bootCount;
  return summary;
}

function tagWarnings(input: LocateInput): string[] {
  const { analysis, resolver } = input;
  const warnings: string[] = [];
  const known = resolver.manifests.map((m) => m.tag).join(', ') || 'none';
  for (const [tag, count] of analysis.unknownTags) {
    warnings.push(`${count} breadcrumb line(s) carry tag ${tag}, which no manifest has (manifests: ${known}); ignored`);
  }
  for (const [crumb, count] of analysis.unknownIds) {
    warnings.push(`${crumb} is not in the manifest of its tag (${count} time(s)); ignored: is the manifest from this build?`);
  }
  return warnings;
}

function noneHint(input: LocateInput, reported: boolean): string {
  const { analysis, resolver } = input;
  const tags = resolver.manifests.map((m) => m.tag);
  if (reported) {
    return 'no breadcrumb of ours before the kernel\'s reports: instrument the functions of their stacks with kcrumb zoom LOG FILES... (the C files that define them), rebuild, and run again';
  }
  if (tags.length === 0) return 'no manifest: run kcrumb locate-freeze in the directory where kcrumb instrument ran, or pass --manifest FILE|DIR';
  if (analysis.unknownTags.size > 0) {
    return `the log has breadcrumbs of tag ${[...analysis.unknownTags.keys()].join(', ')}, not of ${tags.join(', ')}: pass the manifest of that run with --manifest`;
  }
  return (
    `no breadcrumb of ${tags.join(', ')} in the log. Check that the instrumented module was built and loaded, that the ` +
    'console loglevel lets KERN_CRIT through (loglevel above 2; loglevel=1 hides it), and that the log is from the console the kernel ' +
    'prints to (console=ttyS0,115200, netconsole); on kernels with a printing kthread a frozen CPU can keep breadcrumbs in RAM: ' +
    'set softlockup_panic=1 / nmi_watchdog=panic so a panic flushes them'
  );
}
