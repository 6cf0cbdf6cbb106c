#!/bin/sh
# Re-captures every serial log of examples/*/captured/ from the kernel tests that make them, after an
# example's .c files changed (which renumbers the breadcrumbs): boots Debian's 6.1 under QEMU once
# per log (about 17 boots, 10-15 minutes under TCG). The logs are copied in only when every test passed
# and every log in a captured/ folder was made again; else none of them changes.
#   scripts/capture-example-logs.sh        (run QEMU and kbuild one at a time: under flock if shared)
# A new captured log is one row below: its path under examples/ and the log its test leaves in
# $KCRUMB_KERNEL_LOGS, plus its test file in TESTS if it is a new one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
examples="$top/examples"
TESTS="test/kernel/locate-freeze.test.ts test/kernel/sleeping-hang.test.ts test/kernel/ring.test.ts test/kernel/crash.test.ts test/kernel/blk-example.test.ts"
# examples/<example>/captured/<name>  <-  $KCRUMB_KERNEL_LOGS/<log>
ROWS="
dm-remap/captured/remove-one-remap.serial.log          instrumented/remove.serial.log
dm-remap/captured/map-hang.serial.log                  instrumented/map-hang.serial.log
dm-remap/captured/hang-locked.serial.log               instrumented/hang-locked.serial.log
dm-remap/captured/hang-sync.serial.log                 logs/hang-sync.serial.log
dm-remap/captured/hang-sync-locked.serial.log          logs/hang-sync-locked.serial.log
dm-remap/captured/hang-sync-task-id.serial.log         logs/hang-sync-task-id.serial.log
dm-remap/captured/hang-sync-locked-task-id.serial.log  logs/hang-sync-locked-task-id.serial.log
dm-remap/captured/ring-remove-one-remap.serial.log     ring/remove.serial.log
dm-remap/captured/ring-map-hang.serial.log             ring/map-hang.serial.log
dm-remap/captured/ring-hang-locked.serial.log     ring/hang-locked.serial.log
dm-remap/captured/oops-null.serial.log                 crash/oops-null.serial.log
dm-remap/captured/oops-page.serial.log                 crash/oops-page.serial.log
dm-remap/captured/warn-map.serial.log                  crash/warn-map.serial.log
dm-remap/captured/bug-dtr.serial.log                   crash/bug-dtr.serial.log
blk-stall/captured/flush-stall.serial.log              blk-instrumented/flush-stall.serial.log
"

# Every log in a captured/ folder has a row: none is left with the old numbering.
for log in "$examples"/*/captured/*.serial.log; do
	name=${log#"$examples"/}
	echo "$ROWS" | grep -q "^$name " || { echo "capture-example-logs: no row for examples/$name" >&2; exit 2; }
done

stage=$(mktemp -d -t kcrumb-capture-XXXXXX)
echo "capture-example-logs: kernel tests, logs in $stage"
cd "$top"
npm run build --silent
# shellcheck disable=SC2086 # TESTS is a list of files
KCRUMB_KERNEL_LOGS="$stage" node --import tsx --test --test-concurrency=1 $TESTS >"$stage/tests.tap" 2>&1 || true
grep -E '^# (tests|pass|fail|skipped)' "$stage/tests.tap"
if ! grep -q '^# fail 0$' "$stage/tests.tap" || ! grep -q '^# skipped 0$' "$stage/tests.tap"; then
	echo "capture-example-logs: a kernel test failed or was skipped (see $stage/tests.tap): no captured/ changed" >&2
	exit 1
fi
echo "$ROWS" | while read -r name log; do
	[ -n "$name" ] || continue
	[ -s "$stage/$log" ] || { echo "capture-example-logs: no $log in $stage: no captured/ changed" >&2; exit 1; }
done
echo "$ROWS" | while read -r name log; do
	[ -n "$name" ] || continue
	cp "$stage/$log" "$examples/$name"
	echo "  examples/$name  $(wc -c <"$examples/$name") bytes"
done
echo "capture-example-logs: done; now run node --import tsx --test test/locate/captured-logs.test.ts"
