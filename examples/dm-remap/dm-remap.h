/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-remap: remaps bad blocks of a main device to a spare device.
 * Shared between the target (dm-remap-target.c) and its metadata code (dm-remap-metadata.c).
 */
#ifndef DM_REMAP_H
#define DM_REMAP_H

#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define DM_MSG_PREFIX "remap"

/* Remaps are made per 4 KiB block; no bio crosses a block (max_io_len). */
#define REMAP_BLOCK_SECTORS	8
/* At most this many remaps: the metadata table fits in 4 pages. */
#define REMAP_MAX		1024
/* No block: hold_block's value when no "hang_locked" message was sent. */
#define REMAP_NO_BLOCK		((sector_t)-1)

struct remap_entry {
	sector_t bad;		/* first sector of the bad block, relative to the target */
	sector_t spare;		/* first sector of its replacement on the spare device */
	bool copying;		/* the replacement is being set up; I/O to it waits */
	struct list_head list;
};

/* One entry of the metadata table, as it would be written to the spare's first block. */
struct remap_disk_entry {
	__le64 bad;
	__le64 spare;
};

struct remap_c {
	struct dm_target *ti;
	struct dm_dev *main_dev;
	struct dm_dev *spare_dev;

	spinlock_t lock;		/* protects everything below */
	struct list_head remaps;
	unsigned int nr_remaps;
	unsigned int max_remaps;
	sector_t next_spare;		/* next free block on the spare device */

	struct remap_disk_entry *table;	/* max_remaps entries */
	u32 table_crc;			/* of the table at the last sync */

	sector_t hold_block;		/* for kcrumb's tests: I/O to it takes the lock for good */

	/*
	 * The metadata work item: a sync off the I/O path, after a copy to the spare. For kcrumb's
	 * tests ("hang_sync", "hang_sync_locked"), I/O to sync_block queues it, and it sleeps for good.
	 */
	struct work_struct sync_work;
	struct mutex sync_mutex;	/* one metadata sync at a time, the destructor's included */
	struct completion copy_done;	/* the copy the sync waits for reached the spare */
	wait_queue_head_t copy_wait;	/* woken as copies_in_flight drops */
	unsigned int copies_in_flight;
	sector_t sync_block;
	bool sync_locked;		/* the work item holds sync_mutex while it waits */

	/* For kcrumb's crash tests ("oops_null", "oops_page", "warn_map"): see dm-remap-target.c. */
	struct work_struct copy_done_work;	/* marks the copy of crash_block done */
	struct work_struct table_copy_work;	/* writes the table into table_copy */
	sector_t crash_block;
	void *table_copy;		/* one page: too small for the table */
	sector_t warn_block;
};

/* dm-remap-metadata.c */
int remap_table_alloc(struct remap_c *rc);
void remap_table_free(struct remap_c *rc);
void remap_sync_metadata(struct remap_c *rc, const char *why);
void remap_sync_work(struct work_struct *work);
int remap_table_copy_alloc(struct remap_c *rc);
void remap_table_copy_work(struct work_struct *work);

#endif /* DM_REMAP_H */
