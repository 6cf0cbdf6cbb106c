#!/bin/sh
# Reproduces the teardown freeze: remap one block, then remove the device (dm-remap is loaded already).
#   kcrumb hunt --repro repro/remove.sh
set -e
modprobe brd rd_nr=2 rd_size=16384
echo "0 $(blockdev --getsz /dev/ram0) remap /dev/ram0 /dev/ram1" | dmsetup create remap0 --noudevsync
dd if=/dev/urandom of=/dev/mapper/remap0 bs=4096 count=64 oflag=direct 2>/dev/null
dmsetup message remap0 0 remap 1000
dmsetup status remap0
dmsetup remove remap0 --noudevsync
echo "removed: no freeze"
