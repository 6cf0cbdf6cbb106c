/**
 * The report-kind table: every report the kernel prints about a crash, a bug or a hang, how its first line
 * reads, what kind of death it is, and its title in the convention of syzbot's crash reports
 * (`<what> in <guilty function>`, `%f` below). Sources: arch/x86/mm/fault.c (page faults), arch/x86/kernel/
 * traps.c and dumpstack.c (gpf, divide error, invalid opcode, stack guard, `Oops:`), lib/bug.c and
 * kernel/panic.c __warn (kernel BUG, WARNING), mm/kasan/report.c, mm/kfence/report.c, kernel/kcsan/report.c, lib/ubsan.c,
 * lib/list_debug.c, kernel/sched/core.c (__schedule_bug, __might_resched), kernel/locking/spinlock_debug.c
 * and lockdep.c, kernel/workqueue.c, kernel/watchdog.c, kernel/rcu/tree_stall.h, kernel/hung_task.c,
 * kernel/panic.c panic(), lib/nmi_backtrace.c.
 */

/**
 * How the run ended, as the answer's headline says it. `injected`: from outside the code, an NMI a person
 * or a tool sent (QEMU's `nmi`, `virsh inject-nmi`, a BMC, `kcrumb hunt`) to get a dump of a machine that
 * froze silently: it ended the run, it is no evidence against the last statement.
 */
export type Death = 'oops' | 'bug' | 'warning' | 'memory' | 'lockdep' | 'lockup' | 'stall' | 'hang' | 'panic' | 'backtrace' | 'injected';

export type KindId =
  | 'page-fault' | 'null-deref' | 'general-protection' | 'stack-segment' | 'divide-error' | 'invalid-opcode'
  | 'double-fault' | 'stack-guard' | 'kernel-bug' | 'oops' | 'warning'
  | 'kasan' | 'kfence' | 'kcsan' | 'kmsan' | 'ubsan' | 'list-corruption'
  | 'memory-leak' | 'bad-rss-counter' | 'bad-page' | 'object-already-free' | 'dentry-in-use'
  | 'scheduling-while-atomic' | 'sleeping-in-atomic' | 'preemptible' | 'spinlock' | 'bad-unlock' | 'locks-held' | 'held-lock-freed'
  | 'non-static-key' | 'lockdep-limit' | 'lockdep-deadlock' | 'lockdep-inconsistent' | 'suspicious-rcu' | 'workqueue-leak'
  | 'bad-stack' | 'unhandled-fault'
  | 'workqueue-lockup' | 'soft-lockup' | 'hard-lockup' | 'rcu-stall' | 'hung-task' | 'task-cannot-die' | 'netdev-refcount' | 'ipv6-host-route'
  | 'stack-end-corrupted' | 'panic' | 'unknown-nmi' | 'nmi-backtrace';

export interface ReportKind {
  kind: KindId;
  death: Death;
  /** Matches the report's first line (the message, prefixes removed). */
  header: RegExp;
  /** The title; `%f` is the guilty function (dropped with its ` in ` when none is found). */
  title: (m: RegExpExecArray) => string;
  /**
   * Where the guilty function comes from: the frames (from the RIP line on), the lockdep `at:` line after
   * `anchor`, the `last function:` line of a workqueue leak, or the work function of a busy worker.
   */
  guilty: 'frames' | 'lock-at' | 'last-function' | 'work' | 'none';
  /** lock-at: the line after which the first `at: fn+0x..` names the guilty function. */
  anchor?: RegExp;
  /**
   * Frames generic for this kind only, on top of the skip table (a leak's `*_alloc` helpers, a refcount
   * warning's `refcount_*`); matched anywhere in the name, as syzbot matches them. A function of the
   * header's match when it depends on it (the file a WARNING is in).
   */
  skip?: RegExp | ((m: RegExpExecArray) => RegExp | undefined);
  /**
   * How the guilty frame is picked when the first non-generic frame is the wrong one: `stall`, a lockup or
   * stall loops somewhere under one entry point, so the frame called by the first entry point (syscall,
   * work item, timer, ...) names it; `hang`, a blocked task names the call it sleeps in, grouping the
   * `synchronize_*` and `rtnl_lock` waits.
   */
  pick?: 'stall' | 'hang';
  /** The machine cannot go on after it (it always panics). */
  fatal?: boolean;
  /** A `Kernel panic - not syncing` line: after a report it is how that report ended, alone it is one. */
  panics?: boolean;
  /** A line that continues a report just begun (`Oops:` after `BUG: unable to handle ...`), else its own. */
  continues?: boolean;
}

const fixed = (title: string) => () => title;

/** The NMI's own handling on top of an injected NMI's stack: the frame it interrupted is under it. */
const NMI_PLUMBING = /nmi|panic|dump_stack/;

/** Ordered: the first header that matches a line wins. */
export const REPORT_KINDS: readonly ReportKind[] = [
  // arch/x86/mm/fault.c show_fault_oops(); arm64 die_kernel_fault()
  { kind: 'null-deref', death: 'oops', header: /^BUG: (?:unable to handle )?kernel NULL pointer dereference|^Unable to handle kernel NULL pointer dereference/, title: fixed('BUG: unable to handle kernel NULL pointer dereference in %f'), guilty: 'frames' },
  { kind: 'page-fault', death: 'oops', header: /^BUG: unable to handle (?:kernel paging request|page fault for address)|^BUG: Unable to handle kernel data access/, title: fixed('BUG: unable to handle kernel paging request in %f'), guilty: 'frames' },
  // the kernel prints that header in two printk calls: another CPU's line can cut it after `kernel`
  { kind: 'page-fault', death: 'oops', header: /^BUG: [Uu]nable to handle kernel\s*(?:$|\[)/, title: fixed('BUG: unable to handle kernel'), guilty: 'none' },
  // arm and arm64 word it without `BUG:`; syzbot titles it as x86's (arm64 since 5.x: `pc :` and `Call trace:`)
  { kind: 'page-fault', death: 'oops', header: /^Unable to handle kernel (?:paging request|access to user memory|execute from non-executable memory|read from unreadable memory|write to read-only memory)/, title: fixed('BUG: unable to handle kernel paging request in %f'), guilty: 'frames' },
  // arm: a fault the architecture has no handler for
  { kind: 'unhandled-fault', death: 'oops', header: /^Unhandled fault: /, title: fixed('Unhandled fault in %f'), guilty: 'frames' },
  // arch/x86/kernel/traps.c
  { kind: 'general-protection', death: 'oops', header: /^general protection fault(?:,|:)/, title: fixed('general protection fault in %f'), guilty: 'frames' },
  { kind: 'stack-segment', death: 'oops', header: /^stack segment: [0-9a-f]{4}/, title: fixed('stack segment fault in %f'), guilty: 'frames' },
  { kind: 'divide-error', death: 'oops', header: /^divide error: [0-9a-f]{4}/, title: fixed('divide error in %f'), guilty: 'frames' },
  { kind: 'double-fault', death: 'oops', header: /^PANIC: double fault/, title: fixed('PANIC: double fault in %f'), guilty: 'frames', fatal: true },
  { kind: 'stack-guard', death: 'oops', header: /^BUG: (?:[A-Z]+ )?stack guard page was hit at|^Insufficient stack space to handle exception!|^kernel stack overflow/, title: fixed('BUG: stack guard page was hit in %f'), guilty: 'frames' },
  // lib/list_debug.c: the message, then a kernel BUG or WARNING in lib/list_debug.c continues it
  { kind: 'list-corruption', death: 'memory', header: /^list_(?:add|del|bl_add|bl_del)(?:_rcu)? corruption|^kernel BUG at lib\/list_debug\.c|^WARNING: .* at lib\/list_debug\.c/, title: fixed('BUG: corrupted list in %f'), guilty: 'frames' },
  // lib/bug.c report_bug(): BUG_ON()
  { kind: 'kernel-bug', death: 'bug', header: /^kernel BUG at (\S+?)!?$|^kernel BUG at (\S+)/, title: (m) => (/^mm\/usercopy\.c/.test(m[1] ?? m[2] ?? '') ? 'BUG: bad usercopy in %f' : 'kernel BUG in %f'), guilty: 'frames', skip: (m) => (/^mm\/usercopy\.c/.test(m[1] ?? m[2] ?? '') ? /usercopy|__check/ : undefined) },
  // kernel/panic.c __warn(): WARN_ON(); a few files have titles of their own
  { kind: 'warning', death: 'warning', header: /^WARNING: (?:CPU: \d+ PID: \d+ )?at (\S+)(.*)$/, title: (m) => warningKind(m[1], m[2]).title, guilty: 'frames', skip: (m) => warningKind(m[1], m[2]).skip },
  // since 6.18: `WARNING: fs/iomap/buffered-io.c:289 at ifs_free+0x344/0x400, CPU#0: kswapd0/69`
  { kind: 'warning', death: 'warning', header: /^WARNING: (\S+:\d+) at (\S+, CPU#\d+.*)$/, title: (m) => warningKind(m[1], ` ${m[2]}`).title, guilty: 'frames', skip: (m) => warningKind(m[1], ` ${m[2]}`).skip },
  // mm/kasan/report.c, mm/kfence/report.c, kernel/kcsan/report.c, mm/kmsan/report.c, lib/ubsan.c
  { kind: 'kasan', death: 'memory', header: /^BUG: KASAN: ([\w-]+)(?: in | on )/, title: (m) => (/double-free|invalid-free/.test(m[1]) ? 'KASAN: invalid-free in %f' : `KASAN: ${m[1]}%a in %f`), guilty: 'frames' },
  { kind: 'kfence', death: 'memory', header: /^BUG: KFENCE: ([\w -]+?) in /, title: (m) => `KFENCE: ${m[1].replace(/^(use-after-free|out-of-bounds) (?:read|write)$/, '$1')} in %f`, guilty: 'frames' },
  { kind: 'kcsan', death: 'memory', header: /^BUG: KCSAN: (.+?) in [A-Za-z_]/, title: (m) => `KCSAN: ${m[1]} in %f`, guilty: 'frames' },
  // an infoleak is found where the bytes leave the kernel (copy to user, to a USB device): its caller leaked them
  { kind: 'kmsan', death: 'memory', header: /^BUG: KMSAN: ([\w -]+?) in [A-Za-z_]/, title: (m) => `KMSAN: ${m[1]} in %f`, guilty: 'frames', skip: /^_*(?:simple_)?copy_to_iter$|^copyout\w*$|^instrument_copy_to_user$|^usb_submit_urb$/ },
  { kind: 'ubsan', death: 'memory', header: /^UBSAN: ([\w-]+) in |^UBSAN: Undefined behaviour in/, title: (m) => `UBSAN: ${m[1] ?? 'undefined-behaviour'} in %f`, guilty: 'frames' },
  // mm/kmemleak.c: the leaked object's allocation stack; kernel/fork.c check_mm()
  { kind: 'memory-leak', death: 'memory', header: /^unreferenced object 0x[0-9a-f]+ \(size \d+\):/, title: fixed('memory leak in %f'), guilty: 'frames', skip: /alloc|^kmemleak|^kmem_|slab|^create_object$|strn?dup|memdup|v?asprintf|idr_get|list_lru_init|pcpu_create/ },
  { kind: 'bad-rss-counter', death: 'memory', header: /^BUG: (Bad rss-counter state|non-zero nr_ptes on freeing mm|non-zero nr_pmds on freeing mm)/, title: (m) => `BUG: ${m[1]}`, guilty: 'none' },
  // mm/page_alloc.c bad_page(), mm/memory.c print_bad_pte(), mm/slub.c; fs/dcache.c umount_check()
  { kind: 'bad-page', death: 'memory', header: /^BUG: (Bad page (?:state|map))/, title: (m) => `BUG: ${m[1]}`, guilty: 'none' },
  { kind: 'object-already-free', death: 'memory', header: /^BUG kmalloc-\S+ \([^)]*\): Object already free/, title: fixed('BUG: Object already free'), guilty: 'none' },
  { kind: 'dentry-in-use', death: 'bug', header: /^BUG: Dentry .* still in use \(-?\d+\) \[unmount of ([^\]]+)\]/, title: (m) => `BUG: Dentry still in use [unmount of ${m[1]}]`, guilty: 'none' },
  // kernel/sched/core.c
  { kind: 'scheduling-while-atomic', death: 'bug', header: /^BUG: scheduling while atomic: (.+)\/(\d+)\/0x/, title: fixed('BUG: scheduling while atomic in %f'), guilty: 'frames' },
  { kind: 'sleeping-in-atomic', death: 'bug', header: /^BUG: sleeping function called from invalid context at /, title: fixed('BUG: sleeping function called from invalid context in %f'), guilty: 'frames' },
  // lib/smp_processor_id.c check_preemption_disabled(): the per-CPU accessor's caller
  { kind: 'preemptible', death: 'bug', header: /^BUG: using ([a-z_]+)\(\) in preemptible/, title: (m) => `BUG: using ${m[1]}() in preemptible code in %f`, guilty: 'frames', skip: /dump_stack|preempt|debug_|processor_id|this_cpu/ },
  // kernel/locking/spinlock_debug.c, lockdep.c
  { kind: 'spinlock', death: 'bug', header: /^BUG: spinlock (lockup suspected|already unlocked|recursion|bad magic|wrong owner|wrong CPU|cpu recursion)/, title: (m) => `BUG: spinlock ${m[1]} in %f`, guilty: 'frames', skip: /spin_/ },
  // the guilty function is where the lock was released or taken (the `at: fn+0x..` line after the anchor), not the checker's caller
  { kind: 'bad-unlock', death: 'lockdep', header: /^(WARNING|BUG): bad unlock balance detected!/, title: (m) => `${m[1]}: bad unlock balance in %f`, guilty: 'lock-at', anchor: /is trying to release lock/ },
  { kind: 'locks-held', death: 'lockdep', header: /^(WARNING|BUG): .*still has locks held!/, title: (m) => `${m[1]}: still has locks held in %f`, guilty: 'lock-at', anchor: /\blocks? held by\b/ },
  { kind: 'locks-held', death: 'lockdep', header: /^(WARNING|BUG): lock held when returning to user space/, title: (m) => `${m[1]}: lock held when returning to user space in %f`, guilty: 'lock-at', anchor: /leaving the kernel with locks still held/ },
  { kind: 'held-lock-freed', death: 'lockdep', header: /^(WARNING|BUG): held lock freed!/, title: (m) => `${m[1]}: held lock freed in %f`, guilty: 'lock-at', anchor: /is freeing memory/ },
  { kind: 'non-static-key', death: 'lockdep', header: /^INFO: trying to register non-static key/, title: fixed('INFO: trying to register non-static key in %f'), guilty: 'frames', skip: /stack|lock|IRQ/ },
  // lockdep ran out of one of its fixed tables (MAX_STACK_TRACE_ENTRIES, MAX_LOCKDEP_ENTRIES, ...): no culprit
  { kind: 'lockdep-limit', death: 'lockdep', header: /^BUG: (MAX_[A-Z_]+) too low!/, title: (m) => `BUG: ${m[1]} too low!`, guilty: 'none' },
  // an irq-safe -> irq-unsafe order: the deadlock is where the lock became irq-safe, the stack printed after that line
  { kind: 'lockdep-deadlock', death: 'lockdep', header: /^(?:WARNING|INFO): [A-Z]+-safe -> [A-Z]+-unsafe lock order detected/, title: fixed('possible deadlock in %f'), guilty: 'lock-at', anchor: /which became \S+-irq-safe at:/ },
  { kind: 'lockdep-deadlock', death: 'lockdep', header: /^(?:WARNING|INFO): (?:possible circular locking dependency detected|possible recursive locking detected|possible irq lock inversion dependency detected)/, title: fixed('possible deadlock in %f'), guilty: 'lock-at', anchor: /is trying to acquire|just changed the state of lock/ },
  { kind: 'lockdep-inconsistent', death: 'lockdep', header: /^(?:WARNING|INFO): inconsistent lock state/, title: fixed('inconsistent lock state in %f'), guilty: 'lock-at', anchor: /\btakes\b/ },
  { kind: 'suspicious-rcu', death: 'lockdep', header: /^(WARNING|INFO): suspicious RCU usage\s*$/, title: (m) => `${m[1]}: suspicious RCU usage in %f`, guilty: 'frames' },
  // kernels before 4.14 print `[ INFO: suspicious RCU usage. ]` and then where: titled by that file
  { kind: 'suspicious-rcu', death: 'lockdep', header: /^(\S+\.[ch]):\d+ suspicious rcu_dereference_\w+\(\) usage!/, title: (m) => `suspicious RCU usage at ${m[1]}:LINE`, guilty: 'none', continues: true },
  // kernel/workqueue.c: a work function that returned with a lock held or preemption off
  { kind: 'workqueue-leak', death: 'bug', header: /^BUG: workqueue leaked lock or atomic/, title: fixed('BUG: workqueue leaked lock or atomic in %f'), guilty: 'last-function' },
  // arch/x86/kernel/unwind_frame.c: the unwinder found the stack itself broken
  { kind: 'bad-stack', death: 'bug', header: /^WARNING: kernel stack (regs|frame pointer) at \S+ in \S+ has bad (?:'([^']+)' )?value/, title: (m) => (m[1] === 'regs' && m[2] && m[2] !== 'bp' ? `WARNING: kernel stack regs has bad '${m[2]}' value` : m[1] === 'regs' ? 'WARNING: kernel stack regs has bad value' : 'WARNING: kernel stack frame pointer has bad value'), guilty: 'none' },
  // kernel/workqueue.c, kernel/watchdog.c, kernel/rcu/tree_stall.h, kernel/hung_task.c
  // titled by the busy worker's work function when the report shows its backtrace (`Workqueue: wq fn`)
  { kind: 'workqueue-lockup', death: 'lockup', header: /^BUG: workqueue lockup - pool/, title: fixed('BUG: workqueue lockup in %f'), guilty: 'work' },
  { kind: 'soft-lockup', death: 'lockup', header: /BUG: soft lockup - CPU#(\d+) stuck for \d+s! \[(.*):(\d+)\]/, title: fixed('BUG: soft lockup in %f'), guilty: 'frames', pick: 'stall' },
  { kind: 'hard-lockup', death: 'lockup', header: /Watchdog detected hard LOCKUP on cpu (\d+)/, title: fixed('watchdog: hard LOCKUP in %f'), guilty: 'frames' },
  { kind: 'rcu-stall', death: 'stall', header: /rcu_\w+ (?:self-detected stall on CPU|detected (?:expedited )?stalls? on)|rcu: INFO: rcu_\w+ detected expedited stalls/, title: fixed('INFO: rcu detected stall in %f'), guilty: 'frames', pick: 'stall', skip: /rcu|apic_timer_interrupt/ },
  { kind: 'hung-task', death: 'hang', header: /INFO: task (.*):(\d+) blocked (?:in I\/O wait )?for more than \d+ seconds/, title: fixed('INFO: task hung in %f'), guilty: 'frames', pick: 'hang' },
  { kind: 'task-cannot-die', death: 'hang', header: /INFO: task (.*):(\d+) can't die for more than \d+ seconds/, title: fixed("INFO: task can't die in %f"), guilty: 'frames', skip: /schedule/ },
  // net/core/dev.c netdev_wait_allrefs(): a device that never loses its last reference, and a hang
  // net/ipv6/addrconf.c: an address whose host route is gone; the address differs from run to run, the bug does not
  { kind: 'ipv6-host-route', death: 'bug', header: /BUG: Address \S+ on device (\S+) is missing its host route\./, title: (m) => `BUG: Address IPV6ADDR on device ${m[1]} is missing its host route.`, guilty: 'none' },
  { kind: 'netdev-refcount', death: 'hang', header: /unregister_netdevice: waiting for \S+ to become free/, title: fixed('unregister_netdevice: waiting for DEV to become free'), guilty: 'none' },
  // an `Oops:` line of its own (arm's `Internal error: Oops`) or after the line that says why
  { kind: 'oops', death: 'oops', header: /^(?:Internal error: )?Oops(?: - [\w ]+)?: [0-9a-f]+ \[#\d+\]|^Oops: [0-9a-f]{4}/, title: fixed('Oops in %f'), guilty: 'frames', continues: true },
  { kind: 'invalid-opcode', death: 'oops', header: /^invalid opcode: [0-9a-f]{4}/, title: fixed('invalid opcode in %f'), guilty: 'frames', continues: true },
  // kernel/sched/core.c schedule_debug(): the task overran its stack; the looping code is the culprit
  { kind: 'stack-end-corrupted', death: 'panic', header: /^Kernel panic - not syncing: corrupted stack end detected inside scheduler/, title: fixed('kernel panic: corrupted stack end in %f'), guilty: 'frames', pick: 'stall', skip: /schedule|retint_kernel/, fatal: true },
  // arch/x86/kernel/nmi.c unknown_nmi_error(): an NMI no handler claims is what a hypervisor's or a BMC's
  // injected NMI gives; `Dazed and confused, but trying to continue` follows, or with unknown_nmi_panic
  // `Kernel panic - not syncing: NMI: Not continuing` (that panic alone, its first line lost, is the same)
  { kind: 'unknown-nmi', death: 'injected', header: /^Uhhuh\. NMI received for unknown reason ([0-9a-f]+) on CPU (\d+)/, title: fixed('NMI received for unknown reason'), guilty: 'none', skip: NMI_PLUMBING },
  { kind: 'unknown-nmi', death: 'injected', header: /^Kernel panic - not syncing: ?(NMI: Not continuing)/, title: (m) => panicTitle(m[1]), guilty: 'none', skip: NMI_PLUMBING, fatal: true, panics: true },
  // kernel/panic.c panic(): after a report it is how that report ended; alone it is the report
  { kind: 'panic', death: 'panic', header: /^Kernel panic - not syncing: ?(.*)$/, title: (m) => panicTitle(m[1]), guilty: 'none', fatal: true, panics: true },
  // lib/nmi_backtrace.c: not a report, the stack of a CPU some report asked for
  { kind: 'nmi-backtrace', death: 'backtrace', header: /^NMI backtrace for cpu (\d+)/, title: fixed(''), guilty: 'frames' },
];

/** What every header above contains: one scan of a line instead of thirty. */
export const ANY_HEADER = /BUG|Uhhuh|unreferenced object|suspicious rcu_|WARNING|INFO: |Unable to handle|Unhandled fault|fault|error: |PANIC|overflow|Insufficient stack|corruption|KASAN|UBSAN|Oops|LOCKUP|lockup|rcu_|panic|NMI backtrace|invalid opcode|unregister_netdevice/;

interface WarningKind {
  /** The file the WARNING is in, and the function it names when that matters. */
  file: RegExp;
  fn?: RegExp;
  title: string;
  /** The API's own functions, and its users' wrappers: the bug is in the caller of them. */
  skip?: RegExp;
}

/** Warnings in these files are about their callers' use of them: titled the way syzbot titles them. */
const WARNING_KINDS: readonly WarningKind[] = [
  { file: /^lib\/refcount\.c/, title: 'WARNING: refcount bug in %f', skip: /refcount|kobject_/ },
  { file: /^lib\/debugobjects\.c/, title: 'WARNING: ODEBUG bug in %f', skip: /debug_|rcu|hrtimer_|timer_|work_|percpu_|kmem_|slab_|kfree|vunmap|vfree|__free_|kobject_/ },
  { file: /^kernel\/locking\/lockdep\.c/, title: 'WARNING: locking bug in %f', skip: /lock_sock|release_sock/ },
  { file: /^mm\/usercopy\.c/, title: 'WARNING: bad usercopy in %f', skip: /usercopy|__check/ },
  { file: /^lib\/kobject\.c/, title: 'WARNING: kobject bug in %f', skip: /kobject_/ },
  { file: /^fs\/proc\/generic\.c/, fn: /proc_register/, title: 'WARNING: proc registration bug in %f', skip: /proc_/ },
  { file: /^mm\/.*\.c/, fn: / k?.?malloc/, title: 'WARNING: kmalloc bug in %f', skip: /kmalloc|kcalloc|kzalloc|krealloc|vmalloc|slab|kmem/ },
  // drivers/usb/core/urb.c: a driver submitted a bad URB; titled by the driver and the API it misused
  { file: /./, fn: / usb_submit_urb/, title: 'WARNING in %f/usb_submit_urb', skip: /usb_submit_urb|usb_start_wait_urb|usb_bulk_msg|usb_interrupt_msg|usb_control_msg/ },
];

const PLAIN_WARNING: WarningKind = { file: /./, title: 'WARNING in %f' };

function warningKind(file: string, rest = ''): WarningKind {
  return WARNING_KINDS.find((w) => w.file.test(file) && (!w.fn || w.fn.test(rest))) ?? PLAIN_WARNING;
}

function panicTitle(reason: string): string {
  const corrupted = /^stack-protector: Kernel stack is corrupted in: ([A-Za-z_]\w*)/.exec(reason);
  if (corrupted) return `kernel panic: stack is corrupted in ${corrupted[1]}`;
  // `Attempted to kill init! exitcode=0x0000000b`: the exit code differs from run to run, the bug does not
  return `kernel panic: ${reason.replace(/ exitcode=0x[0-9a-f]+\s*$/, '').trim()}`;
}

/**
 * Functions a title names by the API their callers use, as syzbot does: one title for one bug whichever
 * variant of the call the stack shows (`smp_call_function_many` and `_single` are the same wait for IPIs).
 */
const TITLE_ALIASES: readonly [RegExp, string][] = [
  [/^smp_call_function(?:_single|_many|_many_cond|_any)?$|^on_each_cpu(?:_cond)?(?:_mask)?$/, 'smp_call_function'],
  [/^_*synchronize_(?:rcu|sched|srcu)(?:_expedited|_normal)?$/, 'synchronize_rcu'],
];

/** The name a title gives the guilty function. */
export function titleName(fn: string): string {
  for (const [pattern, name] of TITLE_ALIASES) if (pattern.test(fn)) return name;
  return fn;
}

export function kindOf(id: KindId): ReportKind {
  return REPORT_KINDS.find((k) => k.kind === id)!;
}
