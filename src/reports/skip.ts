/**
 * The guilty-frame skip table: functions that are never the bug itself but the generic code a bug passes
 * through or the machinery that reports it. A report's guilty function is the first frame of its RIP line
 * and call trace that no row here matches (the convention of syzbot's titles, where the same list keeps
 * `BUG: unable to handle kernel paging request in __memset` from naming the helper instead of its caller).
 * One table for every report kind; each row says why its functions are skipped. Patterns match the whole
 * C function name (gcc suffixes such as `.isra.0` are dropped before). The lock, wait and wake-up calls
 * come from the kernel's sync vocabulary (src/vocabulary/sync.ts), the one table of them; this table adds
 * only the functions those calls are implemented with.
 */
import { LOCK_FAMILIES, SYNC_CALLS } from '../vocabulary/sync.js';

export interface SkipRow {
  why: string;
  /** A pattern of whole names, or the names themselves (leading underscores dropped before the lookup). */
  names: RegExp | ReadonlySet<string>;
}

/** Lock and unlock calls of every lock family, waits and what ends them: their caller is the one that waits. */
const SYNC_NAMES: ReadonlySet<string> = new Set(
  [...SYNC_CALLS.values()].filter((c) => c.operation === 'wait' || c.operation === 'signal' || LOCK_FAMILIES.has(c.family)).map((c) => c.name),
);

export const GUILTY_SKIP: readonly SkipRow[] = [
  {
    why: 'memory, string and data-structure helpers: the bad pointer came from their caller',
    names: /^_*(?:mem(?:set|cpy|move|cmp|chr|dup|scan)\w*|str(?:n?cmp|n?cpy|l?cat|s?cpy|lcpy|n?len|n?chr|r?chr|n?str|casecmp|sep|dup)\w*|copy_(?:to|from)_user\w*|_copy_(?:to|from)_user|raw_copy_\w+|(?:get|put|clear)_user\w*|might_fault|read_word_at_a_time|fortify_\w+|__fortify_\w+|v?s?n?printf|v?scnprintf|k?v?asprintf|sprintf|format_decode|string|pointer|number|va_format)$|^(?:__)?rb_(?:erase|insert_color|next|prev|first|last|replace_node)\w*$/,
  },
  {
    why: 'atomic and bit operations (and their sanitizer-instrumented wrappers): the bad pointer came from their caller',
    names: /^_*(?:test_and_)?(?:set|clear|change)_bit(?:_lock|_unlock)?\w*$|^_*test_bit\w*$|^instrument_\w+$|^(?:raw_|arch_)?atomic(?:64|_long)?_\w+$/,
  },
  { why: 'lock, unlock, wait and wake-up calls of the sync vocabulary: the caller is the one that waits', names: SYNC_NAMES },
  {
    why: 'what the lock and wait calls are made of (slowpaths, lockdep): the caller is the one that waits',
    names: /^_*(?:raw_)?(?:spin|read|write)_(?:lock|unlock|trylock)\w*$|^_*raw_spin\w*$|^do_raw_(?:spin|read|write)_\w+$|^queued_(?:spin|read|write)_lock\w*$|^native_queued_spin\w*$|^pv_\w*spin\w*$|^__pv_queued\w*$|^_*mutex_(?:lock|unlock|trylock|remove_waiter)\w*$|^__mutex_\w+$|^mutex_spin_on_owner$|^osq_(?:un)?lock$|^_*(?:down|up)(?:_read|_write)?(?:_\w+)?$|^rwsem_\w+$|^__rwsem_\w+$|^rt_mutex\w*$|^__rt_mutex\w*$|^rt_spin\w*$|^lock_(?:acquire|release|contended|acquired)$|^\w*lockdep\w*$|^reacquire_held_locks$|^lock_class\w*$|^__lock_\w+$|^percpu_(?:down|up)_\w+$|^(?:bit_)?wait_on_\w+$|^__wait_on_\w+$|^out_of_line_wait_on_\w+$|^refcount_\w+$|^ref_tracker_\w+$|^__refcount_\w+$|^register_lock_class$|^mark_lock\w*$|^save_trace$|^__cancel_work\w*$|^try_to_grab_pending$|^__flush_work\w*$/,
  },
  {
    why: 'allocators and the free path: a leaked object\'s backtrace starts in them, its caller is the one that leaked',
    names: /^kmemleak_\w+$|^_*kmem_cache_alloc\w*$|^_*kmalloc\w*$|^_*kzalloc\w*$|^_*kcalloc\w*$|^_*kvmalloc\w*$|^_*kvzalloc\w*$|^_*krealloc\w*$|^_*kmemdup\w*$|^slab_(?:alloc|post_alloc_hook)\w*$|^_*slab_alloc\w*$|^___slab_alloc$|^_*alloc_pages\w*$|^alloc_pages_current$|^pcpu_\w+$|^_*alloc_percpu\w*$|^_*vmalloc\w*$|^_*get_free_pages$|^kstrdup\w*$|^kasprintf$|^kfree$|^kfree_skb\w*$/,
  },
  {
    why: 'the scheduler, completions and wait queues: where a blocked task sleeps, not why',
    names: /^_*schedule\w*$|^io_schedule\w*$|^preempt_schedule\w*$|^_*cond_resched\w*$|^context_switch$|^__switch_to\w*$|^finish_task_switch\w*$|^_*wait_for_(?:completion|common)\w*$|^do_wait_for_common$|^__wait_for_common$|^_*wait_event\w*$|^prepare_to_wait\w*$|^finish_wait$|^__wake_up\w*$|^_*might_(?:sleep|resched)$|^_*cond_resched_lock$|^__schedule_bug$|^schedule_debug\w*$|^wait_rcu_gp$|^__wait_rcu_gp$|^_*udelay$|^_*const_udelay$|^delay_tsc$|^_*delay$/,
  },
  {
    why: 'workqueue, kthread and timer plumbing: they call the work function, which is the interesting one',
    names: /^process_one_work$|^process_scheduled_works$|^worker_thread$|^rescuer_thread$|^kthread\w*$|^ret_from_fork\w*$|^smpboot_thread_fn$|^call_timer_fn$|^del_timer\w*$|^__hrtimer_run_queues$|^hrtimer_\w+$|^__run_hrtimer$|^tasklet_\w+$|^call_rcu\w*$|^rcu_do_batch$|^rcu_core\w*$/,
  },
  {
    why: 'device-model, sysfs and USB helpers: they report a misuse by their caller (teardown order, a bad URB)',
    names: /^kobject_(?:del|put|uevent_env)$|^add_uevent_var$|^get_device_parent$|^device_(?:add|del|unregister|destroy|release|for_each_child|remove_file)$|^devres_release_all$|^sysfs_remove\w*$|^hwrng_unregister$|^i2c_del_adapter$|^__unregister_client$|^rollback_registered\w*$|^unregister_netdev\w*$|^tty_unregister_device$|^dummy_urb_enqueue$|^usb_(?:kill_urb|kill_anchored_urbs|control_msg|hcd_submit_urb|submit_urb)$/,
  },
  {
    why: 'printk, dump_stack and the report machinery itself',
    names: /^_*v?printk\w*$|^_*dev_(?:printk|emerg|alert|crit|err|warn|notice|info|dbg)\w*$|^console_(?:lock|unlock|trylock|flush\w*|emit_next_record\w*)$|^call_console_drivers\w*$|^_*dump_stack\w*$|^dump_backtrace$|^unwind_backtrace$|^show_stack\w*$|^show_regs\w*$|^__show_regs$|^show_trace_log_lvl$|^_*sched_show_task$|^_*warn\w*$|^warn_slowpath\w*$|^report_bug$|^print_\w+_bug$|^fixup_bug$|^handle_bug$|^bug_handler$|^do_error_trap$|^do_trap\w*$|^_*die\w*$|^oops_\w+$|^\w*panic\w*$|^__stack_chk_fail$|^page_fault_oops$|^kernelmode_fixup_or_oops$|^no_context$|^_*bad_area\w*$|^do_(?:user|kern)_addr_fault$|^handle_page_fault$|^spurious_kernel_fault$|^exc_\w+$|^asm_exc_\w+$|^do_general_protection$|^general_protection$|^invalid_op$|^do_invalid_op$|^do_divide_error$|^divide_error$|^page_fault$|^do_page_fault$|^__do_page_fault$|^__do_kernel_fault$|^do_mem_abort$|^do_tag_check_fault$|^el1_\w+$|^brk_handler$|^do_debug_exception$|^program_check_exception$|^program_check_common$|^kasan\w*$|^__kasan\w*$|^__asan\w*$|^__sanitizer\w*$|^kcsan\w*$|^__tsan\w*$|^check_memory_region\w*$|^print_address_description\w*$|^print_report$|^describe_object\w*$|^kmsan\w*$|^__msan\w*$|^kfence\w*$|^__kfence\w*$|^_*ubsan\w*$|^handle_overflow$|^__list_(?:add|del)\w*_valid\w*$|^__list_(?:add|del)\w*$|^list_(?:add|del|replace|move|splice)\w*$|^__list_valid_slowpath$|^check_(?:data_corruption|preemption_disabled)$|^debug_object\w*$|^debug_print_object$|^debug_check_no_\w+$|^\w+_is_static_object$|^should_fail\w*$|^fail_dump$|^watchdog_\w+$|^softlockup_fn$|^watchdog$|^__watchdog\w*$|^check_hung_\w+$|^nmi_\w+$|^arch_trigger_cpumask_backtrace$|^_*trigger_\w*backtrace$|^nmi_trigger_cpumask_backtrace$|^dump_cpu_task$|^rcu_\w+$|^print_(?:cpu|other_cpu)_stall$|^check_cpu_stall$|^__check_\w+$|^perf_\w+$|^tick_\w+$|^update_process_times$|^account_\w+$|^scheduler_tick$|^irq_work\w*$|^handle_\w*irq\w*$|^__handle_\w+$|^default_do_nmi$|^sysvec_\w+$|^__sysvec_\w+$|^asm_sysvec_\w+$|^local_apic_timer_interrupt$|^smp_apic_timer_interrupt\w*$|^apic_timer_interrupt$/,
  },
  {
    why: 'entry, interrupt and softirq code: how the CPU got into the kernel',
    names: /^entry_\w+$|^do_syscall_\w+$|^do_fast_syscall_\w+$|^syscall_\w+$|^x64_sys_call$|^__x64_sys_\w+$|^__ia32_sys_\w+$|^__se_sys_\w+$|^__do_sys_\w+$|^irq_exit\w*$|^__irq_exit_rcu$|^_*do_softirq\w*$|^run_ksoftirqd$|^invoke_softirq$|^common_interrupt$|^asm_common_interrupt$|^ret_from_intr$|^__x86_indirect_thunk_\w+$|^__x86_return_thunk$|^cpu_startup_entry$|^do_idle$|^cpuidle_\w+$|^default_idle\w*$|^arch_cpu_idle$|^native_safe_halt$|^start_secondary$|^secondary_startup_64\w*$|^start_kernel$|^x86_64_start_\w+$|^rest_init$/,
  },
];

/**
 * True when `fn` (a C function name, no gcc suffix) is generic: never the guilty frame. Row by row, not one
 * union of the rows: V8 compiles a regex on its first use, and the union (200 alternatives) cost a
 * locate-freeze run 4-8 ms to compile for the 3 names it tested; the rows compile only as far as a name
 * gets, and each alternative is anchored, so the answer is the same.
 */
export function isGeneric(fn: string): boolean {
  return GUILTY_SKIP.some((row) => (row.names instanceof RegExp ? row.names.test(fn) : row.names.has(fn.replace(/^_+/, ''))));
}
