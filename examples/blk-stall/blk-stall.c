// SPDX-License-Identifier: GPL-2.0
/*
 * blk-stall: a small blk-mq RAM disk, /dev/blkst0, whose requests complete a moment later.
 *
 * queue_rq copies a request's data to or from a vmalloc'ed store at once, then puts the request on a
 * pending list and starts an hrtimer; the timer's callback (hard interrupt context) takes the pending
 * list under the device's lock and hands each request to blk_mq_complete_request(), which ends it in
 * the .complete callback. The disk says it has a volatile write cache, so fsync and `sync DEV` send it
 * flush requests (REQ_OP_FLUSH), which go through the same path.
 *
 * For kcrumb's tests, drain_on_flush=1 plants a freeze in the I/O path: on a flush, queue_rq wants
 * the requests queued before it completed first and, holding the device's lock with interrupts off,
 * calls the timer's completion function itself, which takes the same lock again. The CPU spins on
 * its own lock for good; another CPU's RCU stall check reports it.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

static unsigned int size_mb = 16;
module_param(size_mb, uint, 0444);
MODULE_PARM_DESC(size_mb, "Size of the disk in MiB (default 16)");

static unsigned int delay_us = 100;
module_param(delay_us, uint, 0444);
MODULE_PARM_DESC(delay_us, "Microseconds between queue_rq and the completion of a request (default 100)");

static bool drain_on_flush;
module_param(drain_on_flush, bool, 0444);
MODULE_PARM_DESC(drain_on_flush, "For kcrumb's tests: a flush completes the pending requests under the lock (self-deadlock)");

struct blkst_dev {
	spinlock_t lock;		/* protects pending */
	struct list_head pending;	/* requests whose data is copied, waiting for the timer */
	struct hrtimer timer;
	u8 *store;
	sector_t sectors;
	int major;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	unsigned long completed;	/* requests ended, for the unload message */
};

/* The driver's part of every request (tag_set.cmd_size). */
struct blkst_cmd {
	struct list_head list;
	blk_status_t status;
};

static struct blkst_dev *blkst;

/* Copies the data of @rq to or from the store; the request is inside the disk. */
static void blkst_copy(struct blkst_dev *dev, struct request *rq)
{
	loff_t pos = (loff_t)blk_rq_pos(rq) << SECTOR_SHIFT;
	struct req_iterator iter;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, iter) {
		void *buf = bvec_kmap_local(&bv);

		if (rq_data_dir(rq) == WRITE)
			memcpy(dev->store + pos, buf, bv.bv_len);
		else
			memcpy(buf, dev->store + pos, bv.bv_len);
		kunmap_local(buf);
		pos += bv.bv_len;
	}
}

/* What a request's own work gives: its data copied, or why not. */
static blk_status_t blkst_do_request(struct blkst_dev *dev, struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		if (blk_rq_pos(rq) + blk_rq_sectors(rq) > dev->sectors)
			return BLK_STS_IOERR;
		blkst_copy(dev, rq);
		return BLK_STS_OK;
	case REQ_OP_FLUSH:
		/* the data is in the store already: nothing to write back */
		return BLK_STS_OK;
	default:
		return BLK_STS_NOTSUPP;
	}
}

/* Hands every pending request to blk-mq to end: the timer's work, and the drain of a flush. */
static void blkst_complete_pending(struct blkst_dev *dev)
{
	struct blkst_cmd *cmd, *next;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&dev->lock, flags); /* kcrumb-test: flush hangs here */
	list_splice_init(&dev->pending, &done);
	spin_unlock_irqrestore(&dev->lock, flags);

	list_for_each_entry_safe(cmd, next, &done, list) {
		list_del_init(&cmd->list);
		blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
	}
}

static enum hrtimer_restart blkst_timer_fn(struct hrtimer *timer)
{
	struct blkst_dev *dev = container_of(timer, struct blkst_dev, timer);

	blkst_complete_pending(dev);
	return HRTIMER_NORESTART;
}

static blk_status_t blkst_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	struct blkst_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct blkst_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;

	blk_mq_start_request(rq);
	cmd->status = blkst_do_request(dev, rq);

	spin_lock_irqsave(&dev->lock, flags);
	/*
	 * The bug: the pending requests are completed here with dev->lock held, and
	 * blkst_complete_pending() takes it again.
	 */
	if (req_op(rq) == REQ_OP_FLUSH && drain_on_flush)
		blkst_complete_pending(dev);
	list_add_tail(&cmd->list, &dev->pending);
	/* A running callback may have taken the list already: start the timer again for this one. */
	if (!hrtimer_is_queued(&dev->timer))
		hrtimer_start(&dev->timer, ns_to_ktime((u64)delay_us * NSEC_PER_USEC), HRTIMER_MODE_REL);
	spin_unlock_irqrestore(&dev->lock, flags);
	return BLK_STS_OK;
}

/* Runs after blk_mq_complete_request(), in softirq or on the submitting CPU. */
static void blkst_complete(struct request *rq)
{
	struct blkst_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct blkst_dev *dev = rq->q->queuedata;

	WRITE_ONCE(dev->completed, dev->completed + 1);
	blk_mq_end_request(rq, cmd->status);
}

/* A request still pending after 30 s: the timer was lost. Complete what is pending and wait again. */
static enum blk_eh_timer_return blkst_timeout(struct request *rq)
{
	struct blkst_dev *dev = rq->q->queuedata;

	pr_warn("blk-stall: request %d timed out, completing the pending ones\n", rq->tag);
	blkst_complete_pending(dev);
	return BLK_EH_RESET_TIMER;
}

static const struct blk_mq_ops blkst_mq_ops = {
	.queue_rq = blkst_queue_rq,
	.complete = blkst_complete,
	.timeout = blkst_timeout,
};

static const struct block_device_operations blkst_fops = {
	.owner = THIS_MODULE,
};

static int blkst_add_disk(struct blkst_dev *dev)
{
	struct gendisk *disk;
	int r;

	dev->tag_set.ops = &blkst_mq_ops;
	dev->tag_set.nr_hw_queues = 1;
	dev->tag_set.queue_depth = 64;
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = sizeof(struct blkst_cmd);
	dev->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	r = blk_mq_alloc_tag_set(&dev->tag_set);
	if (r)
		return r;

	disk = blk_mq_alloc_disk(&dev->tag_set, dev);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(&dev->tag_set);
		return PTR_ERR(disk);
	}
	disk->major = dev->major;
	disk->first_minor = 0;
	disk->minors = 1;
	disk->fops = &blkst_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, DISK_NAME_LEN, "blkst0");
	set_capacity(disk, dev->sectors);
	blk_queue_logical_block_size(disk->queue, SECTOR_SIZE);
	/* a volatile write cache: the block layer sends flushes */
	blk_queue_write_cache(disk->queue, true, false);

	r = add_disk(disk);
	if (r) {
		put_disk(disk);
		blk_mq_free_tag_set(&dev->tag_set);
		return r;
	}
	dev->disk = disk;
	return 0;
}

static int __init blkst_init(void)
{
	struct blkst_dev *dev;
	int r;

	if (!size_mb)
		return -EINVAL;
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->sectors = (sector_t)size_mb << (20 - SECTOR_SHIFT);
	dev->store = vzalloc((unsigned long)size_mb << 20);
	if (!dev->store) {
		r = -ENOMEM;
		goto free_dev;
	}
	spin_lock_init(&dev->lock);
	INIT_LIST_HEAD(&dev->pending);
	hrtimer_init(&dev->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	dev->timer.function = blkst_timer_fn;

	dev->major = register_blkdev(0, "blkst");
	if (dev->major < 0) {
		r = dev->major;
		goto free_store;
	}
	r = blkst_add_disk(dev);
	if (r)
		goto unregister;
	blkst = dev;
	pr_info("blk-stall: blkst0, %u MiB, completions after %u us, drain_on_flush=%d\n",
		size_mb, delay_us, drain_on_flush);
	return 0;

unregister:
	unregister_blkdev(dev->major, "blkst");
free_store:
	vfree(dev->store);
free_dev:
	kfree(dev);
	return r;
}

static void __exit blkst_exit(void)
{
	struct blkst_dev *dev = blkst;

	del_gendisk(dev->disk);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	hrtimer_cancel(&dev->timer);
	unregister_blkdev(dev->major, "blkst");
	pr_info("blk-stall: blkst0 removed after %lu requests\n", READ_ONCE(dev->completed));
	vfree(dev->store);
	kfree(dev);
}

module_init(blkst_init);
module_exit(blkst_exit);
MODULE_DESCRIPTION("blk-stall: a blk-mq RAM disk with timer completions, and a planted flush freeze");
MODULE_LICENSE("GPL");
