#!/bin/sh
# Reproduces the map hang: CPU 1 spins in remap_map on one block while CPU 0 keeps asking for the status.
#   kcrumb hunt --repro repro/map-hang.sh
set -e
modprobe brd rd_nr=2 rd_size=16384
echo "0 $(blockdev --getsz /dev/ram0) remap /dev/ram0 /dev/ram1" | dmsetup create remap0 --noudevsync
# This shell and the interrupts stay on CPU 0, so the console still gets out when CPU 1 freezes.
taskset -p 1 $$ >/dev/null
for irq in /proc/irq/*/smp_affinity; do echo 1 >"$irq"; done 2>/dev/null || true
dmsetup message remap0 0 hang_map 2048
taskset 2 dd if=/dev/mapper/remap0 of=/dev/null bs=512 skip=2048 count=1 iflag=direct &
i=0
while [ $i -lt 60 ]; do
	i=$((i + 1))
	dmsetup status remap0 >/dev/null
	sleep 0.5
done
echo "no freeze"
