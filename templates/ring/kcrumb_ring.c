// SPDX-License-Identifier: GPL-2.0
/*
 * kcrumb_ring: a per-CPU flight recorder for kcrumb's breadcrumbs (kcrumb instrument --sink ring).
 *
 * A breadcrumb calls kcrumb_ring_record(tag, id): it stores the run tag, the breadcrumb's number, the
 * CPU's local_clock() and the task's pid in the next slot of this CPU's ring. No console write and no
 * lock: the slot comes from this_cpu_inc_return() on the CPU's own counter, so an interrupt or NMI that
 * nests inside a record takes the next slot and neither overwrites the other. A sequence word written
 * last tells a reader that a slot is complete.
 *
 * When the kernel dies (panic notifier, die notifier on an oops) the last entries of every CPU are
 * printed through printk, merged in time order, as ordinary breadcrumb lines behind "kcrumb-ring:", so
 * the console, netconsole and pstore carry them:
 *
 *   kcrumb-ring: dump on panic: 2 CPUs, up to 64 entries each
 *   kcrumb-ring: kq7x#87@1 t=12.345678901
 *   kcrumb-ring: end of dump: 117 entries
 *
 * (`kq7x#87@1.233` when the breadcrumb also records the task, pid 233.) Each entry is printed once
 * across all dumps of a boot. /sys/kernel/debug/kcrumb_ring shows the whole ring at any time, and
 * SysRq-y (module parameter sysrq_key) dumps it to the console.
 *
 * An instrumented module links against kcrumb_ring_record, so the module loader keeps this module
 * loaded while that one is (rmmod: "in use").
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/notifier.h>
#include <linux/panic_notifier.h>
#include <linux/kdebug.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sysrq.h>
#include <linux/atomic.h>
#include <linux/log2.h>
#include <linux/math64.h>

static unsigned int entries = 4096;
module_param(entries, uint, 0444);
MODULE_PARM_DESC(entries, "entries per CPU, a power of two (default 4096)");

static unsigned int dump = 64;
module_param(dump, uint, 0644);
MODULE_PARM_DESC(dump, "entries per CPU printed when the kernel dies (default 64)");

static char sysrq_key = 'y';
module_param(sysrq_key, byte, 0444);
MODULE_PARM_DESC(sysrq_key, "SysRq key that prints the ring (default y; 0: none)");

/* Marks an entry recorded without the task's pid. */
#define KCRUMB_NO_PID (-1)

struct kcrumb_entry {
	u64 time;
	u32 tag;
	u32 id;
	s32 pid;
	/* Low 32 bits of the entry's position + 1, written last: 0 or another value means incomplete. */
	u32 seq;
};

struct kcrumb_cpu {
	/* Entries ever recorded on this CPU; entry n lives in slot n & mask. */
	unsigned long head;
	struct kcrumb_entry *slots;
	/* Entries below this were printed by an earlier dump. */
	unsigned long printed;
};

/* Where a merge of the rings is, per CPU: next entry to show, end. */
struct kcrumb_span {
	unsigned long next;
	unsigned long end;
};

static struct kcrumb_cpu __percpu *rings;
static unsigned long mask;
/* One span per possible CPU for the printk dump, allocated at load: the dump path allocates nothing. */
static struct kcrumb_span *dump_spans;
static atomic_t dumping = ATOMIC_INIT(0);
static struct dentry *debugfs_file;

static __always_inline void record(u32 tag, u32 id, s32 pid)
{
	struct kcrumb_entry *e;
	unsigned long n;

	/* One CPU from the slot's choice to its last store (a breadcrumb may run preemptible). */
	preempt_disable_notrace();
	n = this_cpu_inc_return(rings->head);
	e = &this_cpu_ptr(rings)->slots[(n - 1) & mask];
	WRITE_ONCE(e->seq, 0);
	barrier();
	e->time = local_clock();
	e->tag = tag;
	e->id = id;
	e->pid = pid;
	barrier();
	WRITE_ONCE(e->seq, (u32)n);
	preempt_enable_notrace();
}

/* tag: the run tag's four characters, first in the high byte ("kq7x" is 0x6b713778). */
void notrace kcrumb_ring_record(unsigned int tag, unsigned int id)
{
	record(tag, id, KCRUMB_NO_PID);
}
EXPORT_SYMBOL_GPL(kcrumb_ring_record);

/* The same, and the pid of the task it runs in (kcrumb instrument --task-id). */
void notrace kcrumb_ring_record_task(unsigned int tag, unsigned int id)
{
	record(tag, id, task_pid_nr(current));
}
EXPORT_SYMBOL_GPL(kcrumb_ring_record_task);

static struct kcrumb_entry *entry_at(int cpu, unsigned long n)
{
	return &per_cpu_ptr(rings, cpu)->slots[n & mask];
}

/* Entry n of a CPU, copied, if it is complete and was not overwritten. */
static bool read_entry(int cpu, unsigned long n, struct kcrumb_entry *out)
{
	struct kcrumb_entry *e = entry_at(cpu, n);

	if (READ_ONCE(e->seq) != (u32)(n + 1))
		return false;
	barrier();
	*out = *e;
	barrier();
	return READ_ONCE(e->seq) == (u32)(n + 1);
}

/* Sets every CPU's span to its last `per_cpu` entries (not before `from` when from_printed). */
static void span_rings(struct kcrumb_span *spans, unsigned long per_cpu, bool from_printed)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kcrumb_cpu *ring = per_cpu_ptr(rings, cpu);
		unsigned long end = READ_ONCE(ring->head);
		unsigned long start = end > per_cpu ? end - per_cpu : 0;

		if (from_printed && ring->printed > start)
			start = ring->printed;
		spans[cpu].next = start;
		spans[cpu].end = end;
	}
}

/*
 * The next entry in time order across the CPUs' spans (each CPU's ring is in time order already);
 * skips entries torn by a writer. Returns the CPU, or -1 when every span is used up.
 */
static int next_entry(struct kcrumb_span *spans, struct kcrumb_entry *out)
{
	struct kcrumb_entry candidate;
	int cpu, best = -1;

	for_each_possible_cpu(cpu) {
		struct kcrumb_span *span = &spans[cpu];

		while (span->next < span->end && !read_entry(cpu, span->next, &candidate))
			span->next++;
		if (span->next < span->end && (best < 0 || candidate.time < out->time)) {
			best = cpu;
			*out = candidate;
		}
	}
	if (best >= 0)
		spans[best].next++;
	return best;
}

/* The entry as a breadcrumb line's text: tag#id@cpu[.pid] t=seconds.nanoseconds. */
static const char *format_entry(char *buf, size_t size, const struct kcrumb_entry *e, int cpu)
{
	u32 ns;
	u64 s = div_u64_rem(e->time, NSEC_PER_SEC, &ns);
	int n = snprintf(buf, size, "%c%c%c%c#%u@%d", (char)(e->tag >> 24), (char)(e->tag >> 16),
			 (char)(e->tag >> 8), (char)e->tag, e->id, cpu);

	if (e->pid != KCRUMB_NO_PID)
		n += snprintf(buf + n, size - n, ".%d", e->pid);
	snprintf(buf + n, size - n, " t=%llu.%09u", s, ns);
	return buf;
}

/*
 * Prints the entries no dump printed yet (the last `dump` of each CPU at most), in time order. Runs in
 * panic and oops context: printk only, no allocation, no lock (a second dumper backs off, except the
 * panic, which runs with the other CPUs stopped).
 */
static void kcrumb_ring_dump(const char *why, bool force)
{
	struct kcrumb_entry e;
	unsigned int shown = 0;
	char line[64];
	int cpu;

	if (atomic_xchg(&dumping, 1) && !force)
		return;
	span_rings(dump_spans, dump, true);
	printk(KERN_CRIT "kcrumb-ring: dump on %s: %u CPUs, up to %u entries each\n", why, num_possible_cpus(), dump);
	while ((cpu = next_entry(dump_spans, &e)) >= 0) {
		printk(KERN_CRIT "kcrumb-ring: %s\n", format_entry(line, sizeof(line), &e, cpu));
		shown++;
	}
	for_each_possible_cpu(cpu)
		per_cpu_ptr(rings, cpu)->printed = dump_spans[cpu].end;
	printk(KERN_CRIT "kcrumb-ring: end of dump: %u entries\n", shown);
	atomic_set(&dumping, 0);
}

static int on_panic(struct notifier_block *nb, unsigned long event, void *message)
{
	kcrumb_ring_dump("panic", true);
	return NOTIFY_DONE;
}

static int on_die(struct notifier_block *nb, unsigned long event, void *data)
{
	if (event == DIE_OOPS)
		kcrumb_ring_dump("oops", false);
	return NOTIFY_DONE;
}

static struct notifier_block panic_block = { .notifier_call = on_panic };
static struct notifier_block die_block = { .notifier_call = on_die };

static void on_sysrq(int key)
{
	kcrumb_ring_dump("sysrq", false);
}

static const struct sysrq_key_op sysrq_op = {
	.handler = on_sysrq,
	.help_msg = "kcrumb-ring-dump(y)",
	.action_msg = "kcrumb ring dump",
};

/* debugfs: the whole ring, merged in time order, without the "kcrumb-ring: " prefix. */
static int ring_show(struct seq_file *m, void *unused)
{
	struct kcrumb_span *spans = kcalloc(nr_cpu_ids, sizeof(*spans), GFP_KERNEL);
	struct kcrumb_entry e;
	char line[64];
	int cpu;

	if (!spans)
		return -ENOMEM;
	span_rings(spans, mask + 1, false);
	while ((cpu = next_entry(spans, &e)) >= 0)
		seq_printf(m, "%s\n", format_entry(line, sizeof(line), &e, cpu));
	kfree(spans);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ring);

static void free_rings(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		kfree(per_cpu_ptr(rings, cpu)->slots);
	free_percpu(rings);
	kfree(dump_spans);
}

static int __init kcrumb_ring_init(void)
{
	int cpu;

	if (!is_power_of_2(entries)) {
		pr_err("kcrumb_ring: entries=%u is not a power of two\n", entries);
		return -EINVAL;
	}
	mask = entries - 1;
	rings = alloc_percpu(struct kcrumb_cpu);
	dump_spans = kcalloc(nr_cpu_ids, sizeof(*dump_spans), GFP_KERNEL);
	if (!rings || !dump_spans)
		goto nomem;
	for_each_possible_cpu(cpu) {
		/* kmalloc, not vmalloc: an NMI must not take a fault on its slot. */
		struct kcrumb_entry *slots = kcalloc_node(entries, sizeof(*slots), GFP_KERNEL, cpu_to_node(cpu));

		if (!slots)
			goto nomem;
		per_cpu_ptr(rings, cpu)->slots = slots;
	}
	atomic_notifier_chain_register(&panic_notifier_list, &panic_block);
	register_die_notifier(&die_block);
	if (sysrq_key && register_sysrq_key(sysrq_key, &sysrq_op))
		pr_warn("kcrumb_ring: SysRq-%c is taken; no SysRq key\n", sysrq_key);
	debugfs_file = debugfs_create_file("kcrumb_ring", 0400, NULL, NULL, &ring_fops);
	pr_info("kcrumb_ring: %u entries per CPU, %u printed per CPU when the kernel dies\n", entries, dump);
	return 0;
nomem:
	if (rings)
		free_rings();
	else
		kfree(dump_spans);
	return -ENOMEM;
}

static void __exit kcrumb_ring_exit(void)
{
	debugfs_remove(debugfs_file);
	if (sysrq_key)
		unregister_sysrq_key(sysrq_key, &sysrq_op);
	unregister_die_notifier(&die_block);
	atomic_notifier_chain_unregister(&panic_notifier_list, &panic_block);
	free_rings();
}

module_init(kcrumb_ring_init);
module_exit(kcrumb_ring_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcrumb flight recorder: per-CPU breadcrumb rings, printed on panic and oops");
