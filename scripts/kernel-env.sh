#!/usr/bin/env bash
# kernel-env.sh: install and fetch what kcrumb's real-kernel tests need, into a cache.
#
# usage: scripts/kernel-env.sh [--print] [--no-install] [--for-tests]
#
#   Tools (root only): apt-get install --no-install-recommends of the host tools the QEMU tests use
#     (qemu-system-x86 busybox-static dmsetup cpio kmod gcc-12 make xz-utils), apt-get update at most once.
#   Debian's kernel, unpacked with dpkg-deb -x (nothing goes to /boot or /lib/modules), for the ABI of
#   linux-headers-amd64's candidate (e.g. 6.1.0-56-amd64, package version 6.1.192-2):
#     linux-source-6.1       -> $CACHE/<version>/linux-source-6.1/{drivers/md,drivers/block,fs/ext2,...}
#     linux-headers + kbuild -> $CACHE/<version>/root/usr/src/linux-headers-<abi>  (make -C ... M=dir works)
#     linux-image            -> $CACHE/<version>/root/boot/vmlinuz-<abi>, root/lib/modules/<abi>/kernel/{drivers/md,...}
#   Then writes $CACHE/kernel.env (KCRUMB_*=value lines, read by test/support/kernel-env.ts) and prints it.
#
#   CACHE is ${KCRUMB_CACHE:-$HOME/.cache/kcrumb}. A second run with everything cached takes well under a second.
#   KCRUMB_SRC_PATHS="drivers/md drivers/block" names source folders that must be there ("all": the whole
#   tree, about 10 s, 1.5 GB). Folders extracted by earlier runs stay; only the missing ones are extracted.
#   Without root nothing is installed: missing tools are listed in KCRUMB_MISSING, and the kernel tests
#   skip with that reason (under CI=true they fail). Exit status: 0 when everything is there, 1 otherwise.
#   --for-tests (npm test runs it first): print nothing on stdout, and when something is missing say that the
#   kernel tests will skip and exit 0 (1 under CI=true).
set -euo pipefail

CACHE=${KCRUMB_CACHE:-$HOME/.cache/kcrumb}
APT_LISTS=/var/lib/apt/lists
SRC_PATHS=${KCRUMB_SRC_PATHS:-drivers/md drivers/block fs/ext2}
# What the image part keeps: the kernel, and the modules the tests load (dm-mod, brd, loop, ramoops...).
IMAGE_PATHS="boot lib/modules/@ABI@/modules.builtin lib/modules/@ABI@/modules.order
  lib/modules/@ABI@/modules.builtin.modinfo lib/modules/@ABI@/kernel/drivers/md
  lib/modules/@ABI@/kernel/drivers/block lib/modules/@ABI@/kernel/fs/pstore lib/modules/@ABI@/kernel/lib
  lib/modules/@ABI@/kernel/crypto"
# command -> Debian package providing it
TOOLS="qemu-system-x86_64:qemu-system-x86 busybox:busybox-static dmsetup:dmsetup cpio:cpio modinfo:kmod
  gcc-12:gcc-12 make:make xz:xz-utils dpkg-deb:dpkg"

PRINT=0 INSTALL=1 FOR_TESTS=0
for arg in "$@"; do
  case $arg in
    --print) PRINT=1 ;;
    --no-install) INSTALL=0 ;;
    --for-tests) FOR_TESTS=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kernel-env.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
if [ $PRINT = 1 ]; then cat "$CACHE/kernel.env"; exit; fi

log() { echo "kernel-env: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
is_root() { [ "$(id -u)" = 0 ]; }
export DEBIAN_FRONTEND=noninteractive

UPDATED=0
apt_update_once() {
  [ $UPDATED = 1 ] && return 0
  is_root || return 1
  log "apt-get update"
  apt-get update -qq >&2 && UPDATED=1
}

missing_tools() {
  local t out=""
  for t in $TOOLS; do command -v "${t%%:*}" >/dev/null 2>&1 || out="$out ${t#*:}"; done
  echo "${out# }"
}

# ---- 1. host tools ----------------------------------------------------------------------------
T0=$(now)
MISSING=$(missing_tools)
if [ -n "$MISSING" ] && [ $INSTALL = 1 ] && is_root; then
  log "installing: $MISSING"
  apt_update_once || true
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $MISSING >&2 || log "apt-get install failed"
  MISSING=$(missing_tools)
fi

# ---- 2. which kernel --------------------------------------------------------------------------
# linux-headers-amd64 depends on linux-headers-<abi>-amd64; its candidate version is the package version.
kernel_abi() { apt-cache depends linux-headers-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-headers-\(.*\)-amd64$/\1/p' | head -1; }
pkg_version() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' | head -1; }
cached() { sed -n "s/^KCRUMB_$1=//p" "$CACHE/kernel.env"; }
ABI="" VERSION=""
# apt-cache takes about a second a call where apt keeps no pkgcache.bin (Debian's container images): while
# the package lists are older than the env file, the answer it recorded still holds.
if [ -f "$CACHE/kernel.env" ] && [ "$CACHE/kernel.env" -nt "$APT_LISTS" ]; then
  ABI=$(cached KERNEL_ABI) VERSION=$(cached KERNEL_VERSION)
fi
if [ -z "$VERSION" ]; then
  ABI=$(kernel_abi || true)
  if [ -z "$ABI" ] && is_root; then apt_update_once && ABI=$(kernel_abi || true); fi
  [ -n "$ABI" ] && VERSION=$(pkg_version "linux-headers-$ABI-amd64")
fi
if [ -z "$ABI" ] || [ -z "$VERSION" ]; then
  # No apt lists (non-root, never updated): fall back to what a previous run cached.
  if [ -f "$CACHE/kernel.env" ]; then
    log "apt-cache does not know linux-headers-amd64; reusing $CACHE/kernel.env"
    ABI=$(cached KERNEL_ABI) VERSION=$(cached KERNEL_VERSION)
  fi
fi

KDIR=$CACHE/$VERSION
ROOT=$KDIR/root
SRC=$KDIR/linux-source-6.1
HEADERS=$ROOT/usr/src/linux-headers-$ABI-amd64
KREL=$ABI-amd64
# One stamp per extracted source folder (or "all"), so a run that needs another folder keeps the others.
src_stamp() { echo "$KDIR/.src-has-$(echo "$1" | tr -c 'a-zA-Z0-9\n' _)"; }
# The requested folders not extracted yet (none once the whole tree is).
missing_src() {
  [ -f "$(src_stamp all)" ] && return 0
  for p in $SRC_PATHS; do [ -f "$(src_stamp "$p")" ] || echo "$p"; done
}
ROOT_STAMP=$KDIR/.root-done
PROBLEMS=""

# apt-get download into $1 (a fresh folder); on failure (stale lists give 404s) update once and retry.
download() {
  local dir=$1; shift
  mkdir -p "$dir"
  # As root, apt would drop privileges to _apt, which cannot write under /root: say it need not.
  local opt=()
  if is_root; then opt=(-o APT::Sandbox::User=root); fi
  (cd "$dir" && apt-get download -qq "${opt[@]}" "$@" >&2) && return 0
  apt_update_once && (cd "$dir" && apt-get download -qq "${opt[@]}" "$@" >&2)
}

if [ -z "$VERSION" ]; then
  PROBLEMS="cannot find linux-headers-amd64 with apt-cache (run apt-get update as root)"
else
  # ---- 3. headers, kbuild, image --------------------------------------------------------------
  if [ ! -f "$ROOT_STAMP" ]; then
    T=$(now)
    rm -rf "$ROOT" "$KDIR/debs-root"
    if download "$KDIR/debs-root" "linux-headers-$KREL=$VERSION" "linux-headers-$ABI-common=$VERSION" \
        "linux-kbuild-6.1=$VERSION" "linux-image-$KREL=$VERSION"; then
      mkdir -p "$ROOT"
      for deb in "$KDIR"/debs-root/linux-headers-*.deb "$KDIR"/debs-root/linux-kbuild-*.deb; do
        dpkg-deb -x "$deb" "$ROOT"
      done
      # The image: only the kernel and the module folders the tests use (the whole is 400 MB).
      # shellcheck disable=SC2086
      dpkg-deb --fsys-tarfile "$KDIR"/debs-root/linux-image-*.deb |
        tar -x -C "$ROOT" --wildcards $(for p in ${IMAGE_PATHS//@ABI@/$KREL}; do echo "./$p"; done)
      # The arch Makefile includes the common one by absolute path; point it into the cache.
      sed -i "s|^include /usr/src/|include $ROOT/usr/src/|" "$HEADERS/Makefile"
      rm -rf "$KDIR/debs-root"
      touch "$ROOT_STAMP"
      log "headers, kbuild and image $KREL ($VERSION) unpacked in $(since "$T") s"
    else
      PROBLEMS="$PROBLEMS; apt-get download of linux-headers/linux-image $KREL=$VERSION failed"
    fi
  fi

  # ---- 4. source --------------------------------------------------------------------------------
  NEED_SRC=$(missing_src | xargs)
  if [ -n "$NEED_SRC" ]; then
    T=$(now)
    rm -rf "$KDIR/debs-src" "$KDIR"/.src-done-* # .src-done-*: older stamps, one per whole set of folders
    if download "$KDIR/debs-src" "linux-source-6.1=$VERSION"; then
      dpkg-deb -x "$KDIR"/debs-src/linux-source-6.1_*.deb "$KDIR/debs-src/x"
      members=""
      case " $NEED_SRC " in *" all "*) ;; *) for p in $NEED_SRC; do members="$members linux-source-6.1/$p"; done ;; esac
      # shellcheck disable=SC2086
      tar -xJf "$KDIR/debs-src/x/usr/src/linux-source-6.1.tar.xz" -C "$KDIR" $members
      rm -rf "$KDIR/debs-src"
      for p in $NEED_SRC; do touch "$(src_stamp "$p")"; done
      log "linux-source-6.1 ($VERSION: $NEED_SRC) extracted in $(since "$T") s"
    else
      PROBLEMS="$PROBLEMS; apt-get download of linux-source-6.1=$VERSION failed"
    fi
  fi
fi

# Older kernel versions left by earlier runs.
if [ -f "$ROOT_STAMP" ] && [ -z "$(missing_src)" ]; then
  for old in "$CACHE"/[0-9]*.[0-9]*-*; do [ "$old" = "$KDIR" ] || rm -rf "$old"; done
fi
[ -n "$MISSING" ] && PROBLEMS="$PROBLEMS; missing tools (apt-get install as root): $MISSING"
PROBLEMS=${PROBLEMS#; }

# ---- 5. the env file ----------------------------------------------------------------------------
mkdir -p "$CACHE"
{
  echo "# written by scripts/kernel-env.sh; read by test/support/kernel-env.ts"
  if [ -n "$VERSION" ] && [ -f "$ROOT_STAMP" ]; then
    echo "KCRUMB_KERNEL_ABI=$ABI"
    echo "KCRUMB_KERNEL_VERSION=$VERSION"
    echo "KCRUMB_KERNEL_RELEASE=$KREL"
    echo "KCRUMB_HEADERS=$HEADERS"
    echo "KCRUMB_VMLINUZ=$ROOT/boot/vmlinuz-$KREL"
    echo "KCRUMB_MODULES=$ROOT/lib/modules/$KREL"
  fi
  if [ -n "$VERSION" ] && [ -z "$(missing_src)" ]; then echo "KCRUMB_LINUX_SRC=$SRC"; fi
  echo "KCRUMB_MISSING=$PROBLEMS"
} > "$CACHE/kernel.env.tmp"
mv "$CACHE/kernel.env.tmp" "$CACHE/kernel.env"
[ $FOR_TESTS = 1 ] || cat "$CACHE/kernel.env"
log "done in $(since "$T0") s"
[ -z "$PROBLEMS" ] && exit 0
log "NOT READY: $PROBLEMS"
if [ $FOR_TESTS = 1 ] && [ -z "${CI:-}" ]; then log "the kernel tests will skip and say why"; exit 0; fi
exit 1
