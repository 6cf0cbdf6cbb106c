#!/usr/bin/env bash
# npm run bench: every benchmark, each against its peer in the same run; the tables go to stdout and to
# bench/results.md. Needs scripts/kernel-env.sh (Debian's linux-source) and, for the Coccinelle column,
# Debian's coccinelle package.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
# drivers/md as the issue names it, and fs/ext4 as a folder of another kind
KCRUMB_SRC_PATHS="drivers/md fs/ext4" scripts/kernel-env.sh >/dev/null
{
  echo "# kcrumb benchmarks"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Node $(node --version), Linux $(uname -r)."
  echo "Reproduce with \`npm run bench\`."
  echo
  echo "## 1. Instrument a kernel folder"
  echo
  node --import tsx bench/instrument.ts --dir drivers/md "$@"
  echo
  node --import tsx bench/instrument.ts --dir fs/ext4 "$@"
  echo
  echo "## 2. locate-freeze on a 1 GiB console log"
  echo
  node --import tsx bench/locate-freeze.ts
  echo
  echo "## 3. What one breadcrumb costs the freezing machine"
  echo
  node --import tsx bench/breadcrumb-cost.ts
  echo
  echo "## 4. Small runs: start-up, one module, one log"
  echo
  node --import tsx bench/small-runs.ts
  echo
  echo "## 5. --sink ring against printk breadcrumbs, in QEMU"
  echo
  # three boots of Debian's kernel under QEMU (about 2 minutes under TCG)
  node --import tsx bench/ring-cost.ts
  echo
  echo "## 6. Titles of real kernel reports (syzkaller's testdata)"
  echo
  # the corpus is not shipped: KCRUMB_TITLE_CORPUS names a folder of syzkaller's pkg/report/testdata/linux/report files
  if [ -n "${KCRUMB_TITLE_CORPUS:-}" ] && [ -d "$KCRUMB_TITLE_CORPUS" ]; then
    node --import tsx bench/report-titles.ts "$KCRUMB_TITLE_CORPUS" --cli --markdown
  else
    echo "Skipped: set KCRUMB_TITLE_CORPUS to a folder of syzkaller's report testdata files to measure it."
  fi
} | tee bench/results.md
