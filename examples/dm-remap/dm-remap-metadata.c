// SPDX-License-Identifier: GPL-2.0
/*
 * dm-remap metadata: the remap table, rebuilt from the remap list and checksummed on every
 * suspend and on teardown.
 *
 * Known bug, kept on purpose for kcrumb's tests: remap_entry_flush() takes rc->lock, which its
 * caller remap_sync_metadata() already holds with interrupts off. The sync only walks the list
 * when there are remaps, so removing a device with no remap works, and removing one with a remap
 * freezes the CPU doing it. Load the module with fixed=1 to run the corrected helper.
 */
#include <linux/crc32.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-remap.h"

static bool fixed;
module_param(fixed, bool, 0644);
MODULE_PARM_DESC(fixed, "Do not take the remap lock twice while syncing metadata (default: the bug)");

int remap_table_alloc(struct remap_c *rc)
{
	rc->table = kcalloc(rc->max_remaps, sizeof(*rc->table), GFP_KERNEL);
	return rc->table ? 0 : -ENOMEM;
}

void remap_table_free(struct remap_c *rc)
{
	kfree(rc->table);
	rc->table = NULL;
}

/* Writes one remap into slot @slot of the table. */
static void remap_entry_flush(struct remap_c *rc, struct remap_entry *e, unsigned int slot)
{
	unsigned long flags;

	if (fixed) {
		lockdep_assert_held(&rc->lock);
		rc->table[slot].bad = cpu_to_le64(e->bad);
		rc->table[slot].spare = cpu_to_le64(e->spare);
		return;
	}

	spin_lock_irqsave(&rc->lock, flags); /* kcrumb-test: hangs here */
	rc->table[slot].bad = cpu_to_le64(e->bad);
	rc->table[slot].spare = cpu_to_le64(e->spare);
	spin_unlock_irqrestore(&rc->lock, flags);
}

/*
 * Rebuilds the table from the list and checksums it. Called on presuspend, postsuspend and from
 * the destructor, so the table is current whenever the device stops.
 */
void remap_sync_metadata(struct remap_c *rc, const char *why)
{
	struct remap_entry *e;
	unsigned long flags;
	unsigned int slot = 0;
	u32 crc;

	spin_lock_irqsave(&rc->lock, flags);
	list_for_each_entry(e, &rc->remaps, list) {
		if (e->copying)
			continue;
		remap_entry_flush(rc, e, slot++);
	}
	memset(rc->table + slot, 0, (rc->max_remaps - slot) * sizeof(*rc->table));
	crc = crc32_le(~0, (const u8 *)rc->table, rc->max_remaps * sizeof(*rc->table));
	rc->table_crc = crc;
	spin_unlock_irqrestore(&rc->lock, flags);

	DMINFO("%s: metadata synced on %s: %u remaps, crc %08x",
	       dm_table_device_name(rc->ti->table), why, slot, crc);
}

/*
 * For kcrumb's tests ("hang_sync"): the sync waits for the pending copy to reach the spare, but a read
 * queued it and no write, the copy, ever comes: nothing completes copy_done.
 */
static void remap_sync_after_copy(struct remap_c *rc)
{
	wait_for_completion(&rc->copy_done); /* kcrumb-test: sync work waits here */
	remap_sync_metadata(rc, "copy");
}

/*
 * For kcrumb's tests ("hang_sync_locked"): the same wait, for the copies in flight to drop to none, with
 * sync_mutex held: the destructor then waits for the mutex.
 */
static void remap_sync_locked_after_copy(struct remap_c *rc)
{
	mutex_lock(&rc->sync_mutex);
	wait_event(rc->copy_wait, !READ_ONCE(rc->copies_in_flight)); /* kcrumb-test: locked sync work waits here */
	remap_sync_metadata(rc, "copy");
	mutex_unlock(&rc->sync_mutex);
}

/* The metadata work item: syncs the table once the pending copy is on the spare. */
void remap_sync_work(struct work_struct *work)
{
	struct remap_c *rc = container_of(work, struct remap_c, sync_work);

	if (rc->sync_locked)
		remap_sync_locked_after_copy(rc);
	else
		remap_sync_after_copy(rc);
}

/*
 * For kcrumb's crash tests ("oops_page"): a copy of the table for the spare, in a buffer of one page,
 * though the table takes up to 4 (REMAP_MAX entries). vmalloc() leaves the page after it unmapped.
 */
int remap_table_copy_alloc(struct remap_c *rc)
{
	if (!rc->table_copy)
		rc->table_copy = vmalloc(PAGE_SIZE);
	return rc->table_copy ? 0 : -ENOMEM;
}

/* Clears the copy for the whole table, past the end of its page: the write faults there. */
void remap_table_copy_work(struct work_struct *work)
{
	struct remap_c *rc = container_of(work, struct remap_c, table_copy_work);

	memset(rc->table_copy, 0, rc->max_remaps * sizeof(*rc->table)); /* kcrumb-test: memset past the page here */
	memcpy(rc->table_copy, rc->table, rc->nr_remaps * sizeof(*rc->table));
}
