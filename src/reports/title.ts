/**
 * The guilty frame of a report: the first frame of its RIP line and call trace that the skip table does
 * not call generic. Frames the unwinder only guessed (` ? fn`) never count (syzbot drops them too); for
 * lockups and stalls the frames of the interrupt that reported are the watchdog's own, so the interrupted
 * code's come first; an RCU stall seen from another CPU takes the stuck CPU's NMI backtrace. When no frame
 * qualifies there is none: the title says `in corrupted`, as syzbot's do.
 */
import type { Frame } from './frame.js';
import type { KernelReport } from './parse.js';
import { isGeneric } from './skip.js';

const WATCHDOG_KINDS = new Set(['soft-lockup', 'hard-lockup', 'rcu-stall', 'nmi-backtrace']);

/** The timer interrupt's entry stub, old (`apic_timer_interrupt`) and since 5.8 (`asm_sysvec_apic_timer_interrupt`). */
const TIMER_ENTRY = /^(?:asm_sysvec_)?apic_timer_interrupt$/;

/** Kinds whose stack starts at the faulting instruction (the RIP line): what comes before it is the report's own. */
const FROM_PC = new Set(['null-deref', 'page-fault', 'unhandled-fault', 'general-protection', 'stack-segment', 'divide-error', 'invalid-opcode', 'double-fault', 'stack-guard', 'kernel-bug', 'oops', 'warning', 'soft-lockup', 'list-corruption']);

/** Entry points a stalled CPU's loop runs under: the frame each one called names the stall (syzbot's anchors). */
const STALL_ENTRIES = /process_one_work|do_syscall_|do_fast_syscall_|sysenter_dispatch|tracesys_phase2|netif_receive_skb|do_softirq|call_timer_fn|_run_timers|run_timer_softirq|run_ksoftirqd|smpboot_thread_fn|kthread|start_secondary|cpu_startup_entry|ret_from_fork|vfs_write|vfs_read|vfs_iter_read|vfs_iter_write|do_iter_read|do_iter_write|vfs_ioctl|ksys_ioctl|compat_ioctl|blkdev_driver_ioctl|blkdev_ioctl|^call_read_iter|^call_write_iter|do_iter_readv_writev|^call_mmap|mmap_region|do_mmap|do_dentry_open|vfs_open|^sock_sendmsg|^sock_recvmsg|^sock_release|^__sock_release|__sys_setsockopt|kernel_setsockopt|sock_common_setsockopt|__sys_listen|kernel_listen|sk_common_release|^sock_mmap|__sys_accept|kernel_accept|^sock_do_ioctl|^sock_ioctl|^compat_sock_ioctl|^nfnetlink_rcv_msg|^rtnetlink_rcv_msg|^(?:compat_)?(?:SYSC|SyS|__sys|___sys|__do_sys|__se_sys|__x64_sys)_(?:socketpair|connect|ioctl)|__fput|task_work_run|exit_to_usermode|smp_call_function/;
/** A syscall's entry function, and the prefixes a stall's title drops from it (syzbot's: `__x64_sys_recvmmsg` -> `sys_recvmmsg`). */
const SYSCALL_ENTRY = /^(?:__x64_|__ia32_|__arm64_)sys_|^(?:compat_)?(?:SYSC|SyS)_/;
const SYSCALL_PREFIX = /^(?:__x64_|__arm64_|compat_SYSC_|compat_SyS_|SYSC_|SyS_|__ia32_sys_)/;

/** The name a stall's title gives its frame: a syscall entry without its architecture's prefix. */
export function stallName(fn: string): string {
  return SYSCALL_ENTRY.test(fn) ? fn.replace(SYSCALL_PREFIX, '') : fn;
}

/** A blocked task sleeps in these for reasons of their own: grouped under one name. */
const HANG_WAITS = /rtnl_lock|synchronize_(?:rcu|srcu|net|sched)/;
/** What a blocked task's stack is made of besides the call it blocks in (matched anywhere in a name). */
const HANG_PLUMBING = /sched|_lock|_slowlock|down|rwsem|completion|kthread|wait|synchronize|context_switch|__switch_to|cancel_delayed_work/;

/**
 * The frame a report is titled by, or undefined when its stack has none (syzbot's `in corrupted`): the
 * frames from the RIP line on (the ones before it are the report's own machinery, or another CPU's lines),
 * only those the unwinder was sure of, the first the skip table does not call generic.
 */
export function guiltyFrame(report: KernelReport, header: Frame | undefined, kind: { skip?: RegExp; pick?: 'stall' | 'hang' }, pcAt = 0, traceAt?: number): Frame | undefined {
  const generic = (fn: string) => isGeneric(fn) || (kind.skip?.test(fn) ?? false);
  let frames = FROM_PC.has(report.kind)
    ? report.frames.slice(pcAt)
    : traceAt === undefined
      ? report.frames
      : report.frames.filter((f, i) => i >= traceAt || f.pc);
  // an RCU stall's own stack may be the grace-period kthread's; the stuck CPU's backtrace shows the loop
  const stuck = report.backtraces.find((b) => b.cpus.some((cpu) => report.cpus.includes(cpu)));
  if (stuck && report.kind === 'rcu-stall') frames = stuck.frames;
  else if (frames.length === 0 && report.backtraces.length > 0) frames = (stuck ?? report.backtraces[0]).frames;
  if (WATCHDOG_KINDS.has(report.kind)) {
    // the timer interrupt's (first) entry stub is where the watchdog broke in: what comes after it was running,
    // even when that was itself an interrupt or a softirq (syzbot starts the stall's stack there too)
    const entry = frames.findIndex((f) => TIMER_ENTRY.test(f.function));
    const interrupted = entry >= 0 && entry < frames.length - 1 ? frames.slice(entry + 1) : frames.filter((f) => !f.interrupt);
    if (interrupted.length > 0) frames = interrupted;
  }
  const sure = frames.filter((f) => f.reliable);
  if (kind.pick === 'stall') {
    // as syzbot does: the kind's own skips first, then the entry point, then the frame before it
    const kept = sure.filter((f) => !kind.skip?.test(f.function));
    let previous = kept.find((f) => !isGeneric(f.function)) ?? kept[0];
    for (const frame of kept) {
      if (STALL_ENTRIES.test(frame.function)) return /smp_call_function/.test(frame.function) ? frame : previous;
      // a syscall's own entry function names the syscall the stalled loop runs under
      if (!isGeneric(frame.function) || SYSCALL_ENTRY.test(frame.function)) previous = frame;
    }
  }
  if (kind.pick === 'hang') {
    const wait = sure.find((f) => HANG_WAITS.test(f.function));
    if (wait) return wait;
    const blocked = sure.find((f) => !generic(f.function) && !HANG_PLUMBING.test(f.function));
    if (blocked) return blocked;
  }
  // the header's function stands in only for a stack that was not printed: one printed all generic is `corrupted`
  return sure.find((f) => !generic(f.function)) ?? (header && !generic(header.function) && sure.length === 0 ? header : undefined);
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
