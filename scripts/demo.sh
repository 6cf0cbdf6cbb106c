#!/usr/bin/env bash
# npm run demo: instrument a copy of examples/dm-remap exactly as the captured run did, then ask
# kcrumb which line froze, from the serial log that run left (examples/dm-remap/captured/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kcrumb-demo.XXXXXX")
cp "$top"/examples/dm-remap/*.[ch] "$top"/examples/dm-remap/Makefile "$work"/
cd "$work"
kcrumb() { "$top/bin/kcrumb" "$@"; }
# Bold headings on a terminal only, never with NO_COLOR (kcrumb's own rule).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
  say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  say() { printf '\n%s\n' "$*"; }
fi

say "$ kcrumb instrument --tag kdem dm-remap-target.c dm-remap-metadata.c     # in $work"
kcrumb instrument --tag kdem dm-remap-target.c dm-remap-metadata.c
say "# ...build, load, create a device, remap one block, dmsetup remove: the VM froze. The serial log:"
tail -n 4 "$top/examples/dm-remap/captured/remove-one-remap.serial.log" | cut -c1-100
say "$ kcrumb locate-freeze remove-one-remap.serial.log"
kcrumb locate-freeze "$top/examples/dm-remap/captured/remove-one-remap.serial.log"
say "$ kcrumb strip     # the example, byte for byte as before"
kcrumb strip
