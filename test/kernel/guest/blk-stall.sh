#!/bin/sh
# /init of the examples/blk-stall initramfs (busybox sh, PID 1). What it does comes from kernel arguments:
#   kcrumb.scenario=io           load blk-stall, write random blocks to /dev/blkst0 and read them back
#                                (O_DIRECT, compared with cmp), then flush the disk (fsync on it: a
#                                REQ_OP_FLUSH through queue_rq), then power off
#   kcrumb.scenario=flush-stall  the same with drain_on_flush=1: the flush's queue_rq takes the device's
#                                lock twice with interrupts off and its CPU freezes (RCU stall, panic)
#   kcrumb.scenario=shell        an interactive shell on the console, for debugging
#   kcrumb.dd_blocks=32          4 KiB blocks written and read back
# Every step prints a KCRUMB-* line; KCRUMB-DONE is printed just before a clean power-off.
export PATH=/bin:/sbin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /run
mount -t tmpfs tmpfs /run
echo "KCRUMB-INIT uptime=$(cut -d' ' -f1 /proc/uptime) cpus=$(nproc)"

SCENARIO=io BLOCKS=32
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	kcrumb.scenario=*) SCENARIO=${arg#*=} ;;
	kcrumb.dd_blocks=*) BLOCKS=${arg#*=} ;;
	esac
done

fail() {
	echo "KCRUMB-FAIL $*"
	poweroff -f
}

[ "$SCENARIO" = shell ] && exec setsid cttyhack sh
DRAIN=0
[ "$SCENARIO" = flush-stall ] && DRAIN=1
insmod /lib/modules/blk-stall.ko drain_on_flush="$DRAIN" || fail "insmod blk-stall"
echo "KCRUMB-MODULES drain_on_flush=$(cat /sys/module/blk_stall/parameters/drain_on_flush)"
[ -b /dev/blkst0 ] || fail "no /dev/blkst0"

# Direct I/O both ways: each block goes through queue_rq and the timer's completion, not the page cache.
dd if=/dev/urandom of=/run/data bs=4096 count="$BLOCKS" 2>/dev/null || fail "random data"
dd if=/run/data of=/dev/blkst0 bs=4096 count="$BLOCKS" oflag=direct 2>/dev/null || fail "write"
dd if=/dev/blkst0 of=/run/back bs=4096 count="$BLOCKS" iflag=direct 2>/dev/null || fail "read"
if cmp -s /run/data /run/back; then
	echo "KCRUMB-IO-OK blocks=$BLOCKS md5=$(md5sum </run/back | cut -d' ' -f1)"
else
	echo "KCRUMB-IO-BAD blocks=$BLOCKS"
fi

echo "KCRUMB-FLUSH-START uptime=$(cut -d' ' -f1 /proc/uptime)"
# fsync on the block device: blkdev_fsync sends an empty flush, which blk-mq hands to queue_rq.
sync /dev/blkst0 || fail "flush"
echo "KCRUMB-FLUSHED uptime=$(cut -d' ' -f1 /proc/uptime)"
rmmod blk-stall || fail "rmmod blk-stall"
echo "KCRUMB-REMOVED"
echo "KCRUMB-DONE"
poweroff -f
