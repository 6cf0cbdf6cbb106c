/**
 * The guilty frame of a report: the first frame of its RIP line and call trace that the skip table does
 * not call generic. Frames the unwinder only guessed (` ? fn`) count only when no sure frame qualifies;
 * for lockups and stalls the frames of the interrupt that reported are the watchdog's own, so the
 * interrupted code's come first; an RCU stall seen from another CPU takes the stuck CPU's NMI backtrace.
 * When every frame is generic, the innermost sure one is named (as syzbot does: `... in __memset`).
 */
import type { Frame } from './frame.js';
import type { KernelReport } from './parse.js';
import { isGeneric } from './skip.js';

const WATCHDOG_KINDS = new Set(['soft-lockup', 'hard-lockup', 'rcu-stall', 'nmi-backtrace']);

export function guiltyFrame(report: KernelReport, header?: Frame, kindSkip?: RegExp): Frame | undefined {
  const generic = (fn: string) => isGeneric(fn) || (kindSkip?.test(fn) ?? false);
  let frames = report.frames;
  if (frames.length === 0 && report.backtraces.length > 0) {
    const stuck = report.backtraces.find((b) => b.cpus.some((cpu) => report.cpus.includes(cpu))) ?? report.backtraces[0];
    frames = stuck.frames;
  }
  if (WATCHDOG_KINDS.has(report.kind)) {
    const interrupted = frames.filter((f) => !f.interrupt);
    if (interrupted.length > 0) frames = interrupted;
  }
  return (
    frames.find((f) => f.reliable && !generic(f.function)) ??
    frames.find((f) => !generic(f.function)) ??
    (header && !generic(header.function) ? header : undefined) ??
    // every frame generic (a report cut off after its RIP line): the innermost one is all there is
    frames.find((f) => f.reliable) ??
    header
  );
}

/** The functions of the reports' stacks worth instrumenting: every frame but the generic ones, innermost first. */
export function stackFunctions(reports: readonly KernelReport[]): string[] {
  const names = new Set<string>();
  for (const report of reports) {
    for (const frame of [...report.frames, ...report.backtraces.flatMap((b) => b.frames)]) {
      if (!isGeneric(frame.function)) names.add(frame.function);
    }
  }
  return [...names];
}
