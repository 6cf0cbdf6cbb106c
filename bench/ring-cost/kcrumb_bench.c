// SPDX-License-Identifier: GPL-2.0
/*
 * What one breadcrumb costs, measured in the guest by bench/ring-cost.ts: at load, a loop of
 * ring_loops calls of kcrumb_ring_record (--sink ring), a loop of printk_loops printk breadcrumbs
 * exactly as templates/printk.tmpl renders them (to the serial console), and the empty loop, each
 * timed with ktime_get_ns() and get_cycles(). Prints one "kcrumb-bench:" line per loop.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/timex.h>

extern void kcrumb_ring_record(unsigned int tag, unsigned int id);

static unsigned int ring_loops = 1000000;
module_param(ring_loops, uint, 0444);
static unsigned int printk_loops = 20000;
module_param(printk_loops, uint, 0444);

/* "kbch" as kcrumb_ring_record takes a tag. */
#define BENCH_TAG 0x6b626368u

static void report(const char *what, unsigned int loops, u64 ns, u64 cycles)
{
	u64 each = div_u64(ns * 100, loops ? loops : 1);

	pr_info("kcrumb-bench: %s loops=%u ns=%llu cycles=%llu ns_each=%llu.%02llu\n", what, loops, ns, cycles,
		div_u64(each, 100), each % 100);
}

static int __init kcrumb_bench_init(void)
{
	unsigned int i;
	u64 t0, t1;
	cycles_t c0, c1;

	t0 = ktime_get_ns();
	c0 = get_cycles();
	for (i = 0; i < ring_loops; i++)
		barrier();
	c1 = get_cycles();
	t1 = ktime_get_ns();
	report("empty", ring_loops, t1 - t0, c1 - c0);

	t0 = ktime_get_ns();
	c0 = get_cycles();
	for (i = 0; i < ring_loops; i++)
		kcrumb_ring_record(BENCH_TAG, 87);
	c1 = get_cycles();
	t1 = ktime_get_ns();
	report("ring", ring_loops, t1 - t0, c1 - c0);

	t0 = ktime_get_ns();
	c0 = get_cycles();
	for (i = 0; i < printk_loops; i++) {
		printk(KERN_CRIT "kbch#87@%d\n", raw_smp_processor_id());
		if (i % 256 == 255)
			cond_resched();
	}
	c1 = get_cycles();
	t1 = ktime_get_ns();
	report("printk", printk_loops, t1 - t0, c1 - c0);
	return 0;
}

static void __exit kcrumb_bench_exit(void)
{
}

module_init(kcrumb_bench_init);
module_exit(kcrumb_bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcrumb: the cost of one breadcrumb, ring against printk");
