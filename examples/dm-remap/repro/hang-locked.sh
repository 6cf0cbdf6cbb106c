#!/bin/sh
# Both CPUs freeze and nothing in the kernel can report it: CPU 1 keeps the target's lock with interrupts
# off (hang_locked on one block), then CPU 0 writes other blocks until one waits for that lock. Only the
# NMI kcrumb hunt sends after the console's silence makes the kernel say where it was.
#   kcrumb hunt --repro repro/hang-locked.sh --silence 10
set -e
modprobe brd rd_nr=2 rd_size=16384
echo "0 $(blockdev --getsz /dev/ram0) remap /dev/ram0 /dev/ram1" | dmsetup create remap0 --noudevsync
taskset -p 1 $$ >/dev/null
for irq in /proc/irq/*/smp_affinity; do echo 1 >"$irq"; done 2>/dev/null || true
dmsetup message remap0 0 hang_locked 2048
taskset 2 dd if=/dev/mapper/remap0 of=/dev/null bs=512 skip=2048 count=1 iflag=direct &
sleep 0.5
i=0
while [ $i -lt 200 ]; do
	dd if=/dev/zero of=/dev/mapper/remap0 bs=4096 seek=$((i % 16)) count=1 oflag=direct 2>/dev/null
	i=$((i + 1))
done
echo "no freeze"
