/**
 * The kernel's locks and waits: one table, shared by every stage. instrument reads it to know where a
 * breadcrumb runs with a spinlock held or interrupts off (lock-context.ts) and to record each
 * breadcrumb's lock and wait operations in the manifest; locate reads those records against it to know
 * which lock a CPU holds, which it waits for, and what a task sleeps on.
 *
 * A function's entry says what the call does (operation), to what (family, the argument that names the
 * object), how (access and variants: irqsave, bh, nested, interruptible, ...), and what holding it or
 * calling it implies (context, sleeps). Names not in the table are not locks or waits, except a driver's
 * own lock wrapper, known by its name only (lockWrapper).
 */

/** What holding a lock or section implies where a breadcrumb runs (printk there is slow and can trip the lockup detector). */
export type CrumbContext = 'irqs-off' | 'spinlock' | 'preempt-off';

/**
 * acquire waits until it has the lock; try never waits (and may not get it); release drops it;
 * wait sleeps until something else happens (a completion completes, a work item finishes, a condition
 * becomes true, a grace period ends, time passes); signal is what ends another task's wait.
 */
export type SyncOperation = 'acquire' | 'try' | 'release' | 'wait' | 'signal';

export type SyncFamily =
  // locks: something a CPU or task holds and others wait for
  | 'spinlock'
  | 'rwlock'
  | 'seqlock'
  | 'bit_spinlock'
  | 'hlist_bl'
  | 'local_lock'
  | 'mutex'
  | 'rt_mutex'
  | 'rwsem'
  | 'semaphore'
  // sections: held by the CPU itself, nobody else waits for them
  | 'irq'
  | 'preempt'
  | 'bh'
  | 'rcu'
  // waits and what ends them
  | 'completion'
  | 'work'
  | 'workqueue'
  | 'waitqueue'
  | 'kthread'
  | 'sleep';

/** Readers share a lock, writers (and every plain lock) exclude. */
export type LockAccess = 'exclusive' | 'shared';

export interface SyncCall {
  name: string;
  operation: SyncOperation;
  family: SyncFamily;
  /** For locks and sections: shared (readers) or exclusive. */
  access?: LockAccess;
  /** The suffixes that say how: `irqsave`, `irq`, `bh`, `nested`, `nest_lock`, `interruptible`, `killable`, `timeout`, `io`. */
  variants: readonly string[];
  /** Which arguments name the object (`&rc->lock`, `&rc->done`, `rc->wq`): none for `msleep(10)`, `local_irq_save(flags)`. */
  object: 'none' | 'first' | 'first-two';
  /** What holding it means for the code after it (acquire, try: when it succeeds). */
  context?: CrumbContext;
  /** The call may sleep: a bug with a spinlock held or interrupts off. */
  sleeps?: true;
}

/** Families whose holders others wait for: what locate calls a lock. */
export const LOCK_FAMILIES: ReadonlySet<SyncFamily> = new Set<SyncFamily>(['spinlock', 'rwlock', 'seqlock', 'bit_spinlock', 'hlist_bl', 'local_lock', 'mutex', 'rt_mutex', 'rwsem', 'semaphore']);

/**
 * What ends a wait of each family, for the report and for matching a waiter to its signaller: a wait on
 * the same object, ended by a signal on it or by what is said here.
 */
export const WAIT_ENDS: Partial<Record<SyncFamily, string>> = {
  completion: 'complete() or complete_all() on the same completion',
  work: 'the work function returning (and, for a delayed work, its timer firing first)',
  workqueue: 'every work item queued on the workqueue returning',
  waitqueue: 'the condition becoming true and a wake_up*() on the same wait queue head',
  rcu: 'every CPU leaving its RCU read-side critical section (rcu_read_unlock) and the callbacks running',
  kthread: 'the thread function returning (it should check kthread_should_stop())',
  sleep: 'the timeout passing',
};

type Spec = Omit<SyncCall, 'name' | 'variants' | 'object'> & { object?: SyncCall['object'] };

const table = new Map<string, SyncCall>();

/** Adds `base + suffix` for every suffix; a suffix's words (`_irqsave_nested`) are its variants. */
function add(bases: string | readonly string[], suffixes: readonly string[], spec: Spec | ((suffix: string) => Spec)): void {
  for (const base of typeof bases === 'string' ? [bases] : bases) {
    for (const suffix of suffixes) {
      const name = base + suffix;
      const s = typeof spec === 'function' ? spec(suffix) : spec;
      const variants = VARIANT_WORDS.filter((word) => new RegExp(`_${word}(?:_|$)`).test(suffix));
      table.set(name, { name, variants, object: 'first', ...s });
    }
  }
}

const VARIANT_WORDS = ['irqsave', 'irqrestore', 'irq', 'bh', 'nested', 'nest_lock', 'interruptible', 'killable', 'timeout', 'io', 'excl', 'exclusive', 'all', 'expedited', 'state', 'sync'];

const irqsOff = (suffix: string): CrumbContext => (/_irq/.test(suffix) ? 'irqs-off' : 'spinlock');

// Spinning locks: the CPU holds them with preemption off, interrupts off for _irq/_irqsave.
const SPIN = ['', '_irq', '_irqsave', '_bh'];
const NESTING = ['', '_nested', '_nest_lock'];
const spinAcquire = SPIN.flatMap((mode) => NESTING.map((nest) => mode + nest)).concat('_bh_nested');
add(['spin_lock', 'raw_spin_lock'], spinAcquire, (s) => ({ operation: 'acquire', family: 'spinlock', access: 'exclusive', context: irqsOff(s) }));
add(['spin_trylock', 'raw_spin_trylock'], SPIN, (s) => ({ operation: 'try', family: 'spinlock', access: 'exclusive', context: irqsOff(s) }));
add(['spin_unlock', 'raw_spin_unlock'], ['', '_irq', '_irqrestore', '_bh'], { operation: 'release', family: 'spinlock', access: 'exclusive' });
add('read_lock', SPIN, (s) => ({ operation: 'acquire', family: 'rwlock', access: 'shared', context: irqsOff(s) }));
add('write_lock', [...SPIN, '_nested'], (s) => ({ operation: 'acquire', family: 'rwlock', access: 'exclusive', context: irqsOff(s) }));
add('read_trylock', [''], { operation: 'try', family: 'rwlock', access: 'shared', context: 'spinlock' });
add('write_trylock', [''], { operation: 'try', family: 'rwlock', access: 'exclusive', context: 'spinlock' });
add('read_unlock', ['', '_irq', '_irqrestore', '_bh'], { operation: 'release', family: 'rwlock', access: 'shared' });
add('write_unlock', ['', '_irq', '_irqrestore', '_bh'], { operation: 'release', family: 'rwlock', access: 'exclusive' });
// A seqlock's writer (and its locking reader) take its spinlock; read_seqbegin readers take nothing.
add(['write_seqlock', 'read_seqlock_excl'], SPIN, (s) => ({ operation: 'acquire', family: 'seqlock', access: 'exclusive', context: irqsOff(s) }));
add(['write_sequnlock', 'read_sequnlock_excl'], ['', '_irq', '_irqrestore', '_bh'], { operation: 'release', family: 'seqlock', access: 'exclusive' });
// bit_spin_lock(bitnum, addr): the lock is the bit of the word.
add('bit_spin_lock', [''], { operation: 'acquire', family: 'bit_spinlock', access: 'exclusive', context: 'spinlock', object: 'first-two' });
add('bit_spin_trylock', [''], { operation: 'try', family: 'bit_spinlock', access: 'exclusive', context: 'spinlock', object: 'first-two' });
add(['bit_spin_unlock', '__bit_spin_unlock'], [''], { operation: 'release', family: 'bit_spinlock', access: 'exclusive', object: 'first-two' });
add('hlist_bl_lock', [''], { operation: 'acquire', family: 'hlist_bl', access: 'exclusive', context: 'spinlock' });
add('hlist_bl_unlock', [''], { operation: 'release', family: 'hlist_bl', access: 'exclusive' });
add('local_lock', ['_irq', '_irqsave'], { operation: 'acquire', family: 'local_lock', access: 'exclusive', context: 'irqs-off' });
add('local_unlock', ['_irq', '_irqrestore'], { operation: 'release', family: 'local_lock', access: 'exclusive' });

// Sleeping locks.
add('mutex_lock', ['', '_interruptible', '_killable', '_io'].flatMap((mode) => NESTING.map((nest) => mode + nest)), { operation: 'acquire', family: 'mutex', access: 'exclusive', sleeps: true });
add('mutex_trylock', [''], { operation: 'try', family: 'mutex', access: 'exclusive' });
add('mutex_unlock', [''], { operation: 'release', family: 'mutex', access: 'exclusive' });
add('rt_mutex_lock', ['', '_interruptible', '_killable', '_nested'], { operation: 'acquire', family: 'rt_mutex', access: 'exclusive', sleeps: true });
add('rt_mutex_trylock', [''], { operation: 'try', family: 'rt_mutex', access: 'exclusive' });
add('rt_mutex_unlock', [''], { operation: 'release', family: 'rt_mutex', access: 'exclusive' });
add('down', ['', '_interruptible', '_killable', '_timeout'], { operation: 'acquire', family: 'semaphore', access: 'exclusive', sleeps: true });
add('down_trylock', [''], { operation: 'try', family: 'semaphore', access: 'exclusive' });
add('up', [''], { operation: 'release', family: 'semaphore', access: 'exclusive' });
add(['down_read', 'percpu_down_read'], ['', '_interruptible', '_killable', '_nested'], { operation: 'acquire', family: 'rwsem', access: 'shared', sleeps: true });
add(['down_write', 'percpu_down_write'], ['', '_killable', '_nested', '_nest_lock'], { operation: 'acquire', family: 'rwsem', access: 'exclusive', sleeps: true });
add('down_read_trylock', [''], { operation: 'try', family: 'rwsem', access: 'shared' });
add('down_write_trylock', [''], { operation: 'try', family: 'rwsem', access: 'exclusive' });
add(['up_read', 'percpu_up_read'], [''], { operation: 'release', family: 'rwsem', access: 'shared' });
add(['up_write', 'percpu_up_write'], [''], { operation: 'release', family: 'rwsem', access: 'exclusive' });

// Sections the CPU holds by itself: interrupts, preemption, softirqs off; RCU readers.
add(['local_irq_disable', 'local_irq_save', 'raw_local_irq_disable', 'raw_local_irq_save'], [''], { operation: 'acquire', family: 'irq', context: 'irqs-off', object: 'none' });
add(['local_irq_enable', 'local_irq_restore', 'raw_local_irq_enable', 'raw_local_irq_restore'], [''], { operation: 'release', family: 'irq', object: 'none' });
add(['preempt_disable', 'preempt_disable_notrace', 'get_cpu', 'get_cpu_var', 'get_cpu_ptr'], [''], { operation: 'acquire', family: 'preempt', context: 'preempt-off', object: 'none' });
add(['preempt_enable', 'preempt_enable_no_resched', 'preempt_enable_notrace', 'put_cpu', 'put_cpu_var', 'put_cpu_ptr'], [''], { operation: 'release', family: 'preempt', object: 'none' });
add('local_bh_disable', [''], { operation: 'acquire', family: 'bh', context: 'preempt-off', object: 'none' });
add('local_bh_enable', [''], { operation: 'release', family: 'bh', object: 'none' });
add(['rcu_read_lock', 'rcu_read_lock_bh', 'rcu_read_lock_sched'], [''], { operation: 'acquire', family: 'rcu', access: 'shared', object: 'none' });
add(['rcu_read_unlock', 'rcu_read_unlock_bh', 'rcu_read_unlock_sched'], [''], { operation: 'release', family: 'rcu', access: 'shared', object: 'none' });
add('srcu_read_lock', [''], { operation: 'acquire', family: 'rcu', access: 'shared' });
add('srcu_read_unlock', [''], { operation: 'release', family: 'rcu', access: 'shared' });

// Waits, and the signals that end them.
const COMPLETION_WAITS = ['', '_interruptible', '_killable', '_timeout', '_interruptible_timeout', '_killable_timeout', '_io', '_io_timeout', '_state'];
add('wait_for_completion', COMPLETION_WAITS, { operation: 'wait', family: 'completion', sleeps: true });
add('try_wait_for_completion', [''], { operation: 'try', family: 'completion' });
add('complete', ['', '_all'], { operation: 'signal', family: 'completion' });
add(['flush_work', 'cancel_work_sync', 'flush_delayed_work', 'cancel_delayed_work_sync', 'flush_rcu_work'], [''], { operation: 'wait', family: 'work', sleeps: true });
add(['flush_workqueue', 'drain_workqueue', 'destroy_workqueue'], [''], { operation: 'wait', family: 'workqueue', sleeps: true });
const WAIT_EVENTS = [
  '', '_interruptible', '_killable', '_timeout', '_interruptible_timeout', '_killable_timeout', '_idle', '_idle_timeout',
  '_freezable', '_freezable_timeout', '_exclusive', '_interruptible_exclusive', '_killable_exclusive', '_lock_irq',
  '_interruptible_lock_irq', '_interruptible_lock_irq_timeout', '_interruptible_locked', '_interruptible_exclusive_locked', '_cmd', '_hrtimeout', '_interruptible_hrtimeout',
];
add('wait_event', WAIT_EVENTS, { operation: 'wait', family: 'waitqueue', sleeps: true });
const WAKE_UPS = ['', '_all', '_nr', '_locked', '_all_locked', '_interruptible', '_interruptible_all', '_interruptible_nr', '_interruptible_sync', '_interruptible_poll', '_poll', '_sync', '_var', '_bit'];
add('wake_up', WAKE_UPS, { operation: 'signal', family: 'waitqueue' });
add(['synchronize_rcu', 'synchronize_rcu_expedited', 'rcu_barrier', 'synchronize_net', 'synchronize_sched'], [''], { operation: 'wait', family: 'rcu', sleeps: true, object: 'none' });
add(['synchronize_srcu', 'synchronize_srcu_expedited', 'srcu_barrier'], [''], { operation: 'wait', family: 'rcu', sleeps: true });
add('kthread_stop', ['', '_put'], { operation: 'wait', family: 'kthread', sleeps: true });
add(['msleep', 'msleep_interruptible', 'ssleep', 'usleep_range', 'usleep_range_state', 'fsleep', 'schedule', 'schedule_timeout', 'schedule_timeout_interruptible', 'schedule_timeout_killable', 'schedule_timeout_uninterruptible', 'schedule_timeout_idle', 'io_schedule', 'io_schedule_timeout'], [''], {
  operation: 'wait',
  family: 'sleep',
  sleeps: true,
  object: 'none',
});

/** Every entry, by function name. */
export const SYNC_CALLS: ReadonlyMap<string, SyncCall> = table;

/** The table's entry for a function name, or undefined when it is neither a lock nor a wait. */
export function syncCall(name: string): SyncCall | undefined {
  return table.get(name);
}

/** `x_lock(a)`, `x_lock_irqsave(a, f)`, `x_unlock_bh(a)`: a driver's wrapper, "x_lock" of its first argument. */
const WRAPPER_SUFFIX = /^(\w+?)_(lock|unlock)(?:_irq|_irqsave|_irqrestore|_bh)?$/;
/** `lock_page(p)` / `unlock_page(p)`. */
const WRAPPER_PREFIX = /^(lock|unlock)_(\w+)$/;
/** Named like a lock and no lock anyone waits for, or no lock operation at all. */
const NOT_A_LOCK = /^(?:s?rcu_read_|rcu_read_lock_|local_irq_|preempt_|lockdep_)|(?:init|held|assert|is_locked|owner|class|key|depth|timeout)$/;

/**
 * A driver's own lock function, known by its name alone (`dm_bufio_lock(c)`, `unlock_page(p)`): the
 * lock it stands for (`dm_bufio_lock`, `lock_page`) and whether it takes or drops it. Only for names the
 * table does not have; a wrapper that has breadcrumbs of its own needs no guess (its body is on the trail).
 */
export function lockWrapper(name: string): { lock: string; operation: 'acquire' | 'release' } | undefined {
  if (table.has(name) || NOT_A_LOCK.test(name)) return undefined;
  let m = WRAPPER_SUFFIX.exec(name);
  if (m) return { lock: `${m[1]}_lock`, operation: m[2] === 'lock' ? 'acquire' : 'release' };
  m = WRAPPER_PREFIX.exec(name);
  if (m) return { lock: `lock_${m[2]}`, operation: m[1] === 'lock' ? 'acquire' : 'release' };
  return undefined;
}

/**
 * What a guard class holds, for `guard(class)(...)` and `scoped_guard(class, ...)`: `spinlock_irqsave`
 * -> irqs-off, `raw_spinlock` -> spinlock, `preempt` -> preempt-off; mutex, rcu, srcu: nothing that
 * makes printk costly.
 */
export function guardContext(guardClass: string): CrumbContext | undefined {
  if (/irq/.test(guardClass)) return 'irqs-off';
  if (/spinlock|^read_lock|^write_lock/.test(guardClass)) return 'spinlock';
  if (/^preempt/.test(guardClass)) return 'preempt-off';
  return undefined;
}

/** `&rc->lock`, `&(rc->lock)`, `& rc -> lock`, `&(*rc).lock` and `&(rc)->lock` are all `rc->lock`. */
export function normalizeLockExpression(text: string): string {
  let s = text.replace(/\s+/g, '');
  for (;;) {
    if (s.startsWith('&')) s = s.slice(1);
    else if (s.startsWith('(') && closingParen(s, 0) === s.length - 1) s = s.slice(1, -1);
    else break;
  }
  return s.replace(/\(\*([A-Za-z_]\w*)\)\./g, '$1->').replace(/\(([A-Za-z_]\w*)\)(?=->|\.)/g, '$1');
}

function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
}
