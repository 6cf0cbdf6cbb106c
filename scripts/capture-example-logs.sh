#!/bin/sh
# Re-captures every serial log of examples/dm-remap/captured/ from the kernel tests that make them, after
# the example's .c files changed (which renumbers the breadcrumbs): boots Debian's 6.1 under QEMU once
# per log (about 15 boots, 10-15 minutes under TCG). The logs are copied in only when every test passed
# and every log in captured/ was made again; else nothing in captured/ changes.
#   scripts/capture-example-logs.sh        (run QEMU and kbuild one at a time: under flock if shared)
# A new captured log is one row below: its name in captured/ and the log its test leaves in
# $KCRUMB_KERNEL_LOGS, plus its test file in TESTS if it is a new one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
captured="$top/examples/dm-remap/captured"
TESTS="test/kernel/locate-freeze.test.ts test/kernel/sleeping-hang.test.ts test/kernel/ring.test.ts test/kernel/crash.test.ts"
# captured/<name>  <-  $KCRUMB_KERNEL_LOGS/<log>
ROWS="
remove-one-remap.serial.log          instrumented/remove.serial.log
map-hang.serial.log                  instrumented/map-hang.serial.log
hang-locked.serial.log               instrumented/hang-locked.serial.log
hang-sync.serial.log                 logs/hang-sync.serial.log
hang-sync-locked.serial.log          logs/hang-sync-locked.serial.log
hang-sync-task-id.serial.log         logs/hang-sync-task-id.serial.log
hang-sync-locked-task-id.serial.log  logs/hang-sync-locked-task-id.serial.log
ring-remove-one-remap.serial.log     ring/remove.serial.log
ring-map-hang.serial.log             ring/map-hang.serial.log
oops-null.serial.log                 crash/oops-null.serial.log
oops-page.serial.log                 crash/oops-page.serial.log
warn-map.serial.log                  crash/warn-map.serial.log
bug-dtr.serial.log                   crash/bug-dtr.serial.log
"

# Every log in captured/ has a row: none is left with the old numbering.
for log in "$captured"/*.serial.log; do
	name=$(basename "$log")
	echo "$ROWS" | grep -q "^$name " || { echo "capture-example-logs: no row for captured/$name" >&2; exit 2; }
done

stage=$(mktemp -d -t kcrumb-capture-XXXXXX)
echo "capture-example-logs: kernel tests, logs in $stage"
cd "$top"
npm run build --silent
# shellcheck disable=SC2086 # TESTS is a list of files
KCRUMB_KERNEL_LOGS="$stage" node --import tsx --test --test-concurrency=1 $TESTS >"$stage/tests.tap" 2>&1 || true
grep -E '^# (tests|pass|fail|skipped)' "$stage/tests.tap"
if ! grep -q '^# fail 0$' "$stage/tests.tap" || ! grep -q '^# skipped 0$' "$stage/tests.tap"; then
	echo "capture-example-logs: a kernel test failed or was skipped (see $stage/tests.tap): captured/ unchanged" >&2
	exit 1
fi
echo "$ROWS" | while read -r name log; do
	[ -n "$name" ] || continue
	[ -s "$stage/$log" ] || { echo "capture-example-logs: no $log in $stage: captured/ unchanged" >&2; exit 1; }
done
echo "$ROWS" | while read -r name log; do
	[ -n "$name" ] || continue
	cp "$stage/$log" "$captured/$name"
	echo "  captured/$name  $(wc -c <"$captured/$name") bytes"
done
echo "capture-example-logs: done; now run node --import tsx --test test/locate/captured-logs.test.ts"
