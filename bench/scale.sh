#!/usr/bin/env bash
# Scale: every function of every .c file of drivers/ (Debian's linux-source-6.1, about 19,000 files) at
# every line, on all cores; then strip, and check the whole tree is byte for byte the original.
# Prints wall time and peak memory (GNU time) of each step. Needs scripts/kernel-env.sh to reach Debian.
#
#   bench/scale.sh [folder]      # default drivers
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
folder=${1:-drivers}
KCRUMB_SRC_PATHS="$folder" "$top/scripts/kernel-env.sh" >/dev/null
src=$(sed -n 's/^KCRUMB_LINUX_SRC=//p' "${KCRUMB_CACHE:-$HOME/.cache/kcrumb}/kernel.env")
command -v /usr/bin/time >/dev/null || { echo "bench/scale.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kcrumb-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/$folder" "$work/tree"
echo "$folder of linux-source-6.1: $(find "$work/tree" -name '*.c' | wc -l) .c files, $(find "$work/tree" -name '*.c' -print0 | du -ch --files0-from=- | tail -1 | cut -f1)B, $(nproc) cores"
cd "$work/tree"
/usr/bin/time -f 'instrument: %e s wall, peak %M KiB' "$top/bin/kcrumb" instrument --functions '*' --level every-line --tag kscl . >"$work/instrument.out"
grep -E 'breadcrumbs \(|selected' "$work/instrument.out" | grep -v '^  '
echo "manifest: $(du -h .kcrumb/kscl.json | cut -f1)"
/usr/bin/time -f 'strip: %e s wall, peak %M KiB' "$top/bin/kcrumb" strip . >"$work/strip.out"
echo "strip: $(grep -c 'identical to the original' "$work/strip.out") files identical to the original (sha256 checked)"
rm -rf .kcrumb
if diff -r -q "$src/$folder" "$work/tree" >"$work/diff.out"; then echo "round trip: the whole tree is byte for byte the original"; else echo "round trip: DIFFERS"; head "$work/diff.out"; exit 1; fi
