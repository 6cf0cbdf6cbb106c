// SPDX-License-Identifier: GPL-2.0
/*
 * dm-remap: a device-mapper target that remaps bad blocks of a main device to a spare device.
 *
 * Table:   <start> <len> remap <main_dev> <spare_dev>
 *
 * I/O goes to the main device, except for blocks (4 KiB) that have been remapped: those go to
 * the next free block of the spare device. A block is remapped when a read from it fails, or on
 *
 *   dmsetup message <dev> 0 remap <sector>
 *
 * The first block of the spare is kept for the remap table (dm-remap-metadata.c).
 *
 * For kcrumb's tests, "dmsetup message <dev> 0 hang_map <sector>" adds a remap whose copy never
 * completes: the next I/O to that block spins in remap_map() with the lock held and interrupts
 * off, freezing its CPU. "hang_locked <sector>" makes the next I/O to that block take the lock in
 * remap_hold_lock() and never let go: its CPU freezes, and so does every CPU that maps a bio next,
 * waiting for the lock.
 *
 * "hang_sync <sector>" starts a copy of that block to the spare that never gets written: the next read
 * of the block queues the metadata work item, which sleeps waiting for the copy, and removing the device
 * then sleeps too, in the destructor's flush of that work item. "hang_sync_locked <sector>" does the
 * same with the work item holding sync_mutex while it waits: the destructor sleeps waiting for the mutex.
 *
 * Crashes, the machine going on after each but the last: "oops_null <sector>" queues a work item that
 * dereferences the remap of a block that has none (NULL); "oops_page <sector>" one that clears a copy
 * of the table past the end of its one page; "warn_map <sector>" makes the next I/O to that block warn
 * once in remap_map(); "bug_dtr <sector>" starts a copy that never gets written, and the destructor
 * then finds it in flight: BUG_ON on dmsetup remove.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/processor.h>
#include <linux/slab.h>

#include "dm-remap.h"

/* What remap_end_io() needs to know about a bio that remap_map() mapped. */
struct remap_io {
	sector_t block;		/* target-relative first sector of the block */
	bool to_spare;
	bool copy;		/* the write that copies a pending block to the spare */
};

static struct remap_entry *remap_lookup(struct remap_c *rc, sector_t block)
{
	struct remap_entry *e;

	lockdep_assert_held(&rc->lock);
	list_for_each_entry(e, &rc->remaps, list)
		if (e->bad == block)
			return e;
	return NULL;
}

/* For kcrumb's tests ("hang_locked"): takes the lock with interrupts off and keeps it for good. */
static void remap_hold_lock(struct remap_c *rc)
{
	unsigned long flags;

	spin_lock_irqsave(&rc->lock, flags);
	spin_until_cond(READ_ONCE(rc->hold_block) == REMAP_NO_BLOCK); /* kcrumb-test: holds the lock here */
	spin_unlock_irqrestore(&rc->lock, flags);
}

/* Remaps @block to the next free block of the spare device. */
static int remap_add(struct remap_c *rc, sector_t block, bool copying, gfp_t gfp)
{
	struct remap_entry *new;
	unsigned long flags;
	int r = 0;

	new = kmalloc(sizeof(*new), gfp);
	if (!new)
		return -ENOMEM;
	new->bad = block;
	new->copying = copying;

	spin_lock_irqsave(&rc->lock, flags);
	if (remap_lookup(rc, block)) {
		r = -EEXIST;
	} else if (rc->nr_remaps >= rc->max_remaps) {
		r = -ENOSPC;
	} else {
		new->spare = rc->next_spare;
		rc->next_spare += REMAP_BLOCK_SECTORS;
		list_add_tail(&new->list, &rc->remaps);
		rc->nr_remaps++;
	}
	spin_unlock_irqrestore(&rc->lock, flags);

	if (r) {
		kfree(new);
		return r;
	}
	DMINFO("%s: block %llu remapped to spare sector %llu%s",
	       dm_table_device_name(rc->ti->table), (unsigned long long)block,
	       (unsigned long long)new->spare, copying ? " (copy pending)" : "");
	return 0;
}

/* For kcrumb's tests ("hang_sync", "hang_sync_locked"): a copy of @block to the spare is pending. */
static void remap_start_copy(struct remap_c *rc, sector_t block, bool locked)
{
	reinit_completion(&rc->copy_done);
	rc->sync_locked = locked;
	WRITE_ONCE(rc->copies_in_flight, 1);
	WRITE_ONCE(rc->sync_block, block);
}

/* I/O to the block being copied: a write is the copy, a read queues the metadata sync. */
static void remap_pending_copy_io(struct remap_c *rc, struct remap_io *io, struct bio *bio)
{
	if (op_is_write(bio_op(bio)))
		io->copy = true;
	else
		queue_work(system_wq, &rc->sync_work);
}

/*
 * For kcrumb's tests ("oops_null"): marks the pending copy of crash_block done, without checking that the
 * block has a remap at all: for one that has none, e is NULL.
 */
static void remap_copy_done_work(struct work_struct *work)
{
	struct remap_c *rc = container_of(work, struct remap_c, copy_done_work);
	struct remap_entry *e;
	unsigned long flags;

	spin_lock_irqsave(&rc->lock, flags);
	e = remap_lookup(rc, rc->crash_block);
	spin_unlock_irqrestore(&rc->lock, flags);
	WRITE_ONCE(e->copying, false); /* kcrumb-test: null dereference here */
}

/* The copy reached the spare: the metadata sync waiting for it goes on. */
static void remap_copy_end_io(struct remap_c *rc)
{
	WRITE_ONCE(rc->sync_block, REMAP_NO_BLOCK);
	WRITE_ONCE(rc->copies_in_flight, 0);
	wake_up(&rc->copy_wait);
	complete(&rc->copy_done);
}

static void remap_free_entries(struct remap_c *rc)
{
	struct remap_entry *e, *tmp;

	list_for_each_entry_safe(e, tmp, &rc->remaps, list) {
		list_del(&e->list);
		kfree(e);
	}
	rc->nr_remaps = 0;
}

/*
 * Construct a remap mapping: <main_dev> <spare_dev>
 */
static int remap_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct remap_c *rc;
	sector_t spare_sectors;
	int r;

	if (argc != 2) {
		ti->error = "Invalid argument count: <main_dev> <spare_dev>";
		return -EINVAL;
	}

	rc = kzalloc(sizeof(*rc), GFP_KERNEL);
	if (!rc) {
		ti->error = "Cannot allocate remap context";
		return -ENOMEM;
	}
	rc->ti = ti;
	rc->hold_block = REMAP_NO_BLOCK;
	rc->sync_block = REMAP_NO_BLOCK;
	rc->warn_block = REMAP_NO_BLOCK;
	spin_lock_init(&rc->lock);
	INIT_LIST_HEAD(&rc->remaps);
	INIT_WORK(&rc->sync_work, remap_sync_work);
	INIT_WORK(&rc->copy_done_work, remap_copy_done_work);
	INIT_WORK(&rc->table_copy_work, remap_table_copy_work);
	mutex_init(&rc->sync_mutex);
	init_completion(&rc->copy_done);
	init_waitqueue_head(&rc->copy_wait);

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &rc->main_dev);
	if (r) {
		ti->error = "Main device lookup failed";
		goto bad_main;
	}

	r = dm_get_device(ti, argv[1], dm_table_get_mode(ti->table), &rc->spare_dev);
	if (r) {
		ti->error = "Spare device lookup failed";
		goto bad_spare;
	}

	spare_sectors = bdev_nr_sectors(rc->spare_dev->bdev);
	if (spare_sectors < 2 * REMAP_BLOCK_SECTORS) {
		ti->error = "Spare device too small";
		r = -EINVAL;
		goto bad_table;
	}
	rc->max_remaps = min_t(sector_t, REMAP_MAX, spare_sectors / REMAP_BLOCK_SECTORS - 1);
	rc->next_spare = REMAP_BLOCK_SECTORS;

	r = remap_table_alloc(rc);
	if (r) {
		ti->error = "Cannot allocate remap table";
		goto bad_table;
	}

	r = dm_set_target_max_io_len(ti, REMAP_BLOCK_SECTORS);
	if (r)
		goto bad_io_len;

	ti->num_flush_bios = 2;
	ti->per_io_data_size = sizeof(struct remap_io);
	ti->private = rc;
	return 0;

bad_io_len:
	remap_table_free(rc);
bad_table:
	dm_put_device(ti, rc->spare_dev);
bad_spare:
	dm_put_device(ti, rc->main_dev);
bad_main:
	kfree(rc);
	return r;
}

static void remap_dtr(struct dm_target *ti)
{
	struct remap_c *rc = ti->private;

	mutex_lock(&rc->sync_mutex); /* kcrumb-test: teardown waits for the mutex here */
	remap_sync_metadata(rc, "teardown");
	mutex_unlock(&rc->sync_mutex);
	flush_work(&rc->sync_work); /* kcrumb-test: teardown waits for the work here */
	flush_work(&rc->copy_done_work);
	flush_work(&rc->table_copy_work);
	/* A copy still in flight would complete into freed memory ("bug_dtr"). */
	BUG_ON(READ_ONCE(rc->copies_in_flight)); /* kcrumb-test: teardown BUG here */
	remap_free_entries(rc);
	remap_table_free(rc);
	vfree(rc->table_copy);
	dm_put_device(ti, rc->spare_dev);
	dm_put_device(ti, rc->main_dev);
	kfree(rc);
}

static int remap_map(struct dm_target *ti, struct bio *bio)
{
	struct remap_c *rc = ti->private;
	struct remap_io *io = dm_per_bio_data(bio, sizeof(struct remap_io));
	struct remap_entry *e;
	unsigned long flags;
	sector_t offset;

	if (bio->bi_opf & REQ_PREFLUSH) {
		/* An empty flush, sent once to each device. */
		io->to_spare = dm_bio_get_target_bio_nr(bio) == 1;
		io->block = 0;
		io->copy = false;
		bio_set_dev(bio, io->to_spare ? rc->spare_dev->bdev : rc->main_dev->bdev);
		return DM_MAPIO_REMAPPED;
	}

	offset = dm_target_offset(ti, bio->bi_iter.bi_sector);
	io->block = round_down(offset, REMAP_BLOCK_SECTORS);
	io->to_spare = false;
	io->copy = false;
	WARN_ON_ONCE(io->block == READ_ONCE(rc->warn_block)); /* kcrumb-test: map warns here */
	if (unlikely(io->block == READ_ONCE(rc->hold_block)))
		remap_hold_lock(rc);
	if (unlikely(io->block == READ_ONCE(rc->sync_block)))
		remap_pending_copy_io(rc, io, bio);

	spin_lock_irqsave(&rc->lock, flags);
	e = remap_lookup(rc, io->block);
	if (e) {
		/* Wait until the block's copy on the spare is complete. */
		spin_until_cond(!READ_ONCE(e->copying)); /* kcrumb-test: map hangs here */
		io->to_spare = true;
		offset = e->spare + (offset - io->block);
	}
	spin_unlock_irqrestore(&rc->lock, flags);

	bio_set_dev(bio, io->to_spare ? rc->spare_dev->bdev : rc->main_dev->bdev);
	bio->bi_iter.bi_sector = offset;
	return DM_MAPIO_REMAPPED;
}

static int remap_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct remap_c *rc = ti->private;
	struct remap_io *io = dm_per_bio_data(bio, sizeof(struct remap_io));

	if (io->copy && !*error)
		remap_copy_end_io(rc);
	if (*error && bio_op(bio) == REQ_OP_READ && !io->to_spare) {
		DMWARN_LIMIT("%s: read error at block %llu",
			     dm_table_device_name(ti->table), (unsigned long long)io->block);
		/* The data is lost; later reads and writes of the block go to the spare. */
		remap_add(rc, io->block, false, GFP_ATOMIC);
	}
	return DM_ENDIO_DONE;
}

static void remap_presuspend(struct dm_target *ti)
{
	remap_sync_metadata(ti->private, "presuspend");
}

static void remap_postsuspend(struct dm_target *ti)
{
	remap_sync_metadata(ti->private, "postsuspend");
}

static int remap_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct remap_c *rc = ti->private;
	unsigned long long sector;
	sector_t block;

	if (argc != 2) {
		DMERR("message: <remap|hang_map|hang_locked|hang_sync|hang_sync_locked|oops_null|oops_page|warn_map|bug_dtr> <sector>");
		return -EINVAL;
	}

	if (kstrtoull(argv[1], 10, &sector) || sector >= ti->len) {
		DMERR("invalid sector %s", argv[1]);
		return -EINVAL;
	}
	block = round_down((sector_t)sector, REMAP_BLOCK_SECTORS);

	if (!strcasecmp(argv[0], "remap"))
		return remap_add(rc, block, false, GFP_KERNEL);
	if (!strcasecmp(argv[0], "hang_map"))
		return remap_add(rc, block, true, GFP_KERNEL);
	if (!strcasecmp(argv[0], "hang_locked")) {
		WRITE_ONCE(rc->hold_block, block);
		return 0;
	}
	if (!strcasecmp(argv[0], "hang_sync") || !strcasecmp(argv[0], "hang_sync_locked")) {
		remap_start_copy(rc, block, !strcasecmp(argv[0], "hang_sync_locked"));
		return 0;
	}
	if (!strcasecmp(argv[0], "oops_null")) {
		rc->crash_block = block;
		queue_work(system_wq, &rc->copy_done_work);
		return 0;
	}
	if (!strcasecmp(argv[0], "oops_page")) {
		if (remap_table_copy_alloc(rc))
			return -ENOMEM;
		queue_work(system_wq, &rc->table_copy_work);
		return 0;
	}
	if (!strcasecmp(argv[0], "warn_map")) {
		WRITE_ONCE(rc->warn_block, block);
		return 0;
	}
	if (!strcasecmp(argv[0], "bug_dtr")) {
		remap_start_copy(rc, block, false);
		return 0;
	}
	DMERR("unknown message %s", argv[0]);
	return -EINVAL;
}

static void remap_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct remap_c *rc = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %u", READ_ONCE(rc->nr_remaps), rc->max_remaps);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s", rc->main_dev->name, rc->spare_dev->name);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int remap_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn, void *data)
{
	struct remap_c *rc = ti->private;
	int r;

	r = fn(ti, rc->main_dev, 0, ti->len, data);
	if (r)
		return r;
	return fn(ti, rc->spare_dev, 0, bdev_nr_sectors(rc->spare_dev->bdev), data);
}

static struct target_type remap_target = {
	.name		 = "remap",
	.version	 = {1, 0, 0},
	.module		 = THIS_MODULE,
	.ctr		 = remap_ctr,
	.dtr		 = remap_dtr,
	.map		 = remap_map,
	.end_io		 = remap_end_io,
	.presuspend	 = remap_presuspend,
	.postsuspend	 = remap_postsuspend,
	.message	 = remap_message,
	.status		 = remap_status,
	.iterate_devices = remap_iterate_devices,
};

static int __init dm_remap_init(void)
{
	int r = dm_register_target(&remap_target);

	if (r < 0)
		DMERR("register failed %d", r);
	return r;
}

static void __exit dm_remap_exit(void)
{
	dm_unregister_target(&remap_target);
}

module_init(dm_remap_init);
module_exit(dm_remap_exit);

MODULE_DESCRIPTION(DM_NAME " target remapping bad blocks to a spare device");
MODULE_AUTHOR("kcrumb project");
MODULE_LICENSE("GPL");
