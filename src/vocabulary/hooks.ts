/**
 * Where a driver's hot path starts: the kernel's ops structs and the fields of each that run in the I/O,
 * interrupt, timer, suspend and teardown paths, and the registration calls that hand the kernel a
 * function to run later. One table, shared by select (the default selection starts from every entry
 * found in the given files), `kcrumb instrument --hooks list` and docs/hooks.md.
 *
 * Fields left out on purpose run once at setup (probe, ctr, open of a module), report status, or parse
 * arguments: a freeze there is rare and a breadcrumb there only adds noise. `probe` is taken when asked
 * (`--hooks pci_driver.probe`).
 */

export interface OpsStruct {
  /** The struct's tag: `struct blk_mq_ops`. */
  struct: string;
  /** The fields the default selection starts from. */
  fields: string[];
  /** Fields taken only when named with --hooks. */
  onRequest?: string[];
  /** Why these fields are on the path where machines hang. */
  why: string;
}

export const OPS_STRUCTS: readonly OpsStruct[] = [
  {
    struct: 'target_type',
    fields: ['map', 'clone_and_map_rq', 'release_clone_rq', 'end_io', 'rq_end_io', 'presuspend', 'presuspend_undo', 'postsuspend', 'dtr'],
    onRequest: ['ctr', 'message', 'status', 'preresume', 'resume'],
    why: 'device-mapper: every bio goes through map and end_io; dmsetup suspend and remove run the suspend hooks and dtr',
  },
  {
    struct: 'blk_mq_ops',
    fields: ['queue_rq', 'queue_rqs', 'commit_rqs', 'complete', 'timeout', 'poll', 'exit_request'],
    onRequest: ['init_request', 'init_hctx', 'exit_hctx', 'map_queues'],
    why: 'blk-mq: queue_rq takes every request, complete and timeout end it; a stuck request hangs every task that waits on it',
  },
  {
    struct: 'block_device_operations',
    fields: ['submit_bio', 'open', 'release', 'ioctl', 'compat_ioctl'],
    why: 'bio-based drivers take every bio in submit_bio; open and release run on every mount and close',
  },
  {
    struct: 'file_operations',
    fields: ['read', 'write', 'read_iter', 'write_iter', 'unlocked_ioctl', 'compat_ioctl', 'poll', 'mmap', 'release', 'flush', 'fsync', 'llseek', 'splice_read', 'splice_write'],
    onRequest: ['open'],
    why: 'every system call on the file: a task stuck here is the hung task the watchdog names',
  },
  {
    struct: 'net_device_ops',
    fields: ['ndo_open', 'ndo_stop', 'ndo_start_xmit', 'ndo_tx_timeout', 'ndo_set_rx_mode', 'ndo_change_mtu', 'ndo_eth_ioctl'],
    why: 'every transmitted packet goes through ndo_start_xmit; ndo_stop and ndo_tx_timeout reset the device under traffic',
  },
  {
    struct: 'address_space_operations',
    fields: ['writepage', 'writepages', 'read_folio', 'readahead', 'dirty_folio', 'write_begin', 'write_end', 'direct_IO', 'invalidate_folio', 'release_folio'],
    why: 'page cache I/O: writeback and reads of every page of the file system go through these',
  },
  {
    struct: 'super_operations',
    fields: ['put_super', 'sync_fs', 'evict_inode', 'freeze_fs', 'unfreeze_fs', 'write_inode', 'statfs'],
    onRequest: ['alloc_inode', 'free_inode', 'remount_fs'],
    why: 'sync, umount and freeze: the paths where file systems hang waiting for their own I/O',
  },
  {
    struct: 'inode_operations',
    fields: ['setattr', 'create', 'unlink', 'rename', 'lookup'],
    why: 'metadata operations take the file system locks that sync and writeback also need',
  },
  {
    struct: 'tty_operations',
    fields: ['write', 'put_char', 'flush_chars', 'flush_buffer', 'ioctl', 'close', 'hangup', 'wait_until_sent'],
    why: 'every write to a terminal or serial port; close and hangup wait for output to drain',
  },
  {
    struct: 'proc_ops',
    fields: ['proc_read', 'proc_read_iter', 'proc_write', 'proc_ioctl', 'proc_poll', 'proc_release'],
    why: 'the file_operations of /proc files',
  },
  {
    struct: 'dev_pm_ops',
    fields: ['prepare', 'complete', 'suspend', 'resume', 'freeze', 'thaw', 'poweroff', 'restore', 'suspend_late', 'resume_early', 'suspend_noirq', 'resume_noirq', 'runtime_suspend', 'runtime_resume', 'runtime_idle'],
    why: 'suspend and resume: a device that never answers here leaves the machine dead after a lid close',
  },
  {
    struct: 'platform_driver',
    fields: ['remove', 'shutdown', 'suspend', 'resume'],
    onRequest: ['probe'],
    why: 'teardown while I/O may still be in flight, and reboot',
  },
  {
    struct: 'pci_driver',
    fields: ['remove', 'shutdown', 'suspend', 'resume'],
    onRequest: ['probe'],
    why: 'teardown while I/O may still be in flight, and reboot',
  },
  {
    struct: 'usb_driver',
    fields: ['disconnect', 'suspend', 'resume', 'reset_resume', 'pre_reset', 'post_reset'],
    onRequest: ['probe'],
    why: 'unplug with I/O in flight, and the reset and resume paths',
  },
  {
    struct: 'virtio_driver',
    fields: ['remove', 'config_changed', 'freeze', 'restore'],
    onRequest: ['probe'],
    why: 'teardown and suspend of virtio devices (their queues run from interrupts and NAPI)',
  },
];

/**
 * dev_pm_ops are most often filled by macros: inside the initializer (`SET_SYSTEM_SLEEP_PM_OPS(s, r)`)
 * or for the whole variable (`static SIMPLE_DEV_PM_OPS(name, s, r);`). Each gives the fields its
 * arguments fill, in order.
 */
export const PM_OPS_MACROS: Readonly<Record<string, string[]>> = {
  SET_SYSTEM_SLEEP_PM_OPS: ['suspend', 'resume'],
  SYSTEM_SLEEP_PM_OPS: ['suspend', 'resume'],
  SET_LATE_SYSTEM_SLEEP_PM_OPS: ['suspend_late', 'resume_early'],
  LATE_SYSTEM_SLEEP_PM_OPS: ['suspend_late', 'resume_early'],
  SET_NOIRQ_SYSTEM_SLEEP_PM_OPS: ['suspend_noirq', 'resume_noirq'],
  NOIRQ_SYSTEM_SLEEP_PM_OPS: ['suspend_noirq', 'resume_noirq'],
  SET_RUNTIME_PM_OPS: ['runtime_suspend', 'runtime_resume', 'runtime_idle'],
  RUNTIME_PM_OPS: ['runtime_suspend', 'runtime_resume', 'runtime_idle'],
};

/** File-scope definitions of a whole dev_pm_ops: the first argument names it, the rest fill these fields. */
export const PM_OPS_DEFINITIONS: Readonly<Record<string, string[]>> = {
  SIMPLE_DEV_PM_OPS: ['suspend', 'resume'],
  DEFINE_SIMPLE_DEV_PM_OPS: ['suspend', 'resume'],
  UNIVERSAL_DEV_PM_OPS: ['suspend', 'resume', 'runtime_idle'],
  DEFINE_RUNTIME_DEV_PM_OPS: ['runtime_suspend', 'runtime_resume', 'runtime_idle'],
};

/** What a bound handler runs as: a work item, timer, tasklet, irq_work, or a kernel thread's function. */
export type DeferredKind = 'work' | 'timer' | 'tasklet' | 'irq_work' | 'thread';

export interface RegistrationCall {
  /** The function called: `request_threaded_irq`. */
  call: string;
  /** Arguments (0-based) that hold a function the kernel runs later. */
  handlers: number[];
  /** The argument holding the work, timer or tasklet the handler is bound to (select/deferred-work.ts ties queueing to it). */
  key?: number;
  why: string;
  /** A binding of deferred work: what its handler runs as (a flush or kthread_stop waits for that one). */
  runs?: DeferredKind;
}

const IRQ = 'an interrupt handler runs with interrupts off on its CPU: a spin there is a hard lockup';
const THREADED_IRQ = 'the hard handler runs with interrupts off, the thread handler in a kernel thread that a stuck device starves';
const NAPI = 'the NAPI poll runs in softirq on every received packet: a spin there is a soft lockup';
const TIMER = 'a timer runs in softirq when it expires';
const WORK = 'a work item runs in a kworker when queued: a stuck one blocks every later item of its queue';
const TASKLET = 'a tasklet runs in softirq when scheduled';
const THREAD = 'the thread function runs for the life of the thread';

export const REGISTRATION_CALLS: readonly RegistrationCall[] = [
  { call: 'request_irq', handlers: [1], why: IRQ },
  { call: 'request_threaded_irq', handlers: [1, 2], why: THREADED_IRQ },
  { call: 'request_any_context_irq', handlers: [1], why: IRQ },
  { call: 'request_percpu_irq', handlers: [1], why: IRQ },
  { call: 'devm_request_irq', handlers: [2], why: IRQ },
  { call: 'devm_request_threaded_irq', handlers: [2, 3], why: THREADED_IRQ },
  { call: 'devm_request_any_context_irq', handlers: [2], why: IRQ },
  { call: 'netif_napi_add', handlers: [2], why: NAPI },
  { call: 'netif_napi_add_weight', handlers: [2], why: NAPI },
  { call: 'netif_napi_add_tx', handlers: [2], why: NAPI },
  { call: 'netif_napi_add_tx_weight', handlers: [2], why: NAPI },
  { call: 'netif_tx_napi_add', handlers: [2], why: NAPI },
  { call: 'timer_setup', handlers: [1], key: 0, why: TIMER, runs: 'timer' },
  { call: 'timer_setup_on_stack', handlers: [1], key: 0, why: TIMER, runs: 'timer' },
  { call: 'setup_timer', handlers: [1], key: 0, why: TIMER, runs: 'timer' },
  { call: 'INIT_WORK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_WORK_ONSTACK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: '__INIT_WORK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_DELAYED_WORK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_DELAYED_WORK_ONSTACK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_DEFERRABLE_WORK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_RCU_WORK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'INIT_RCU_WORK_ONSTACK', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'kthread_init_work', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'kthread_init_delayed_work', handlers: [1], key: 0, why: WORK, runs: 'work' },
  { call: 'tasklet_setup', handlers: [1], key: 0, why: TASKLET, runs: 'tasklet' },
  { call: 'tasklet_init', handlers: [1], key: 0, why: TASKLET, runs: 'tasklet' },
  { call: 'init_irq_work', handlers: [1], key: 0, why: 'an irq_work runs in hard interrupt context when queued', runs: 'irq_work' },
  { call: 'kthread_run', handlers: [0], why: THREAD, runs: 'thread' },
  { call: 'kthread_run_on_cpu', handlers: [0], why: THREAD, runs: 'thread' },
  { call: 'kthread_create', handlers: [0], why: THREAD, runs: 'thread' },
  { call: 'kthread_create_on_node', handlers: [0], why: THREAD, runs: 'thread' },
  { call: 'kthread_create_on_cpu', handlers: [0], why: THREAD, runs: 'thread' },
];

/** File-scope registrations, `static DECLARE_WORK(name, fn);`: the variable is the key, the second argument the handler. */
export const FILE_SCOPE_REGISTRATIONS: Readonly<Record<string, DeferredKind>> = {
  DECLARE_WORK: 'work',
  DECLARE_DELAYED_WORK: 'work',
  DECLARE_DEFERRABLE_WORK: 'work',
  DECLARE_TASKLET: 'tasklet',
  DECLARE_TASKLET_OLD: 'tasklet',
  DEFINE_TIMER: 'timer',
  DEFINE_KTHREAD_WORK: 'work',
  DEFINE_IRQ_WORK: 'irq_work',
};

/**
 * The kernel's own functions that ops structs point to (`.llseek = noop_llseek`, `.read = generic_read_dir`,
 * `.splice_write = iter_file_splice_write`): not defined in a driver's files, and no reason to warn.
 */
export const KERNEL_HELPER = /^(?:noop_|no_llseek$|default_llseek$|generic_|simple_|seq_|single_|nonseekable_open$|compat_ptr_ioctl$|fixed_size_llseek$|iter_file_|block_|mpage_|filemap_|iomap_|dax_|buffer_|folio_|blkdev_|eth_|pm_|dm_|blk_mq_|vfs_|kernel_|noop$)/;

const OPS_BY_STRUCT = new Map(OPS_STRUCTS.map((ops) => [ops.struct, ops]));
const REGISTRATION_BY_CALL = new Map(REGISTRATION_CALLS.map((r) => [r.call, r]));

export function opsStruct(name: string): OpsStruct | undefined {
  return OPS_BY_STRUCT.get(name);
}

export function registrationCall(name: string): RegistrationCall | undefined {
  return REGISTRATION_BY_CALL.get(name);
}

/** The table as `kcrumb instrument --hooks list` prints it and docs/hooks.md shows it. */
export function describeHooks(): string {
  const lines = ['Ops structs (a `.field = function` of a static initializer starts the selection):'];
  for (const ops of OPS_STRUCTS) {
    lines.push(`  struct ${ops.struct}: ${ops.fields.join(', ')}${ops.onRequest ? ` (when asked: ${ops.onRequest.join(', ')})` : ''}`);
    lines.push(`      ${ops.why}`);
  }
  lines.push('', 'Registration calls (the function passed starts the selection):');
  const byWhy = new Map<string, string[]>();
  for (const r of REGISTRATION_CALLS) byWhy.set(r.why, [...(byWhy.get(r.why) ?? []), r.call]);
  for (const [why, calls] of byWhy) lines.push(`  ${calls.join(', ')}`, `      ${why}`);
  lines.push(`  ${Object.keys(FILE_SCOPE_REGISTRATIONS).join(', ')} (at file scope)`, `      work, tasklets and timers defined with their handler`);
  return lines.join('\n');
}
