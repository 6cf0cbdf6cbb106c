#!/bin/sh
# The same removal with the fix on: it completes, and the hunt says there was no freeze (exit 1).
#   kcrumb hunt --repro repro/fixed.sh
set -e
echo 1 >/sys/module/dm_remap/parameters/fixed
modprobe brd rd_nr=2 rd_size=16384
echo "0 $(blockdev --getsz /dev/ram0) remap /dev/ram0 /dev/ram1" | dmsetup create remap0 --noudevsync
dmsetup message remap0 0 remap 1000
dmsetup remove remap0 --noudevsync
echo "removed"
