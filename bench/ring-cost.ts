/**
 * Benchmark 4: --sink ring against printk breadcrumbs, on Debian's 6.1 kernel under QEMU (TCG, 2 CPUs,
 * serial console to a file). Two measures, each against its peer in the same boot or the same run:
 * - one breadcrumb: bench/ring-cost/kcrumb_bench.ko loops kcrumb_ring_record a million times and the
 *   printk breadcrumb 20,000 times (to the serial console), timed in the guest with ktime_get_ns();
 * - the I/O path: dd reads the whole 16 MiB example target (4096 bios of 4 KiB, O_DIRECT) three times
 *   through examples/dm-remap uninstrumented, at every line with printk, and at every line with --sink
 *   ring; the median of the three reads.
 * QEMU's emulated UART does not wait for a baud rate: a real 115200-baud console makes printk far
 * slower than this (bench/breadcrumb-cost.ts: about 2.3 ms a line), the ring stays the same.
 *
 *   flock /tmp/kcrumb-qemu.lock node --import tsx bench/ring-cost.ts
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRing } from '../src/cli/ring-build.js';
import { runCli } from '../test/support/run-cli.js';
import { kernelEnv } from '../test/support/kernel-env.js';
import { prepareModule } from '../test/kernel/example.js';
import { buildModule, runScenario } from '../test/kernel/qemu.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const work = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-ring-bench-'));
const headers = kernelEnv().headers;
if (!headers) throw new Error('no kernel headers: run scripts/kernel-env.sh');

const ring = await buildRing({ kdir: headers, outDir: join(work, 'kcrumb-ring') });
const benchDir = join(work, 'kcrumb-bench');
cpSync(join(REPO, 'bench', 'ring-cost'), benchDir, { recursive: true });
const benchKo = await buildModule(benchDir, benchDir, { makeArgs: [`KBUILD_EXTRA_SYMBOLS=${ring.symvers}`] });

const instrumentWith = (sink: string) => async (dir: string) => {
  const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort();
  const run = await runCli(['instrument', '--sink', sink, '--tag', 'kben', ...sources], dir);
  if (run.code !== 0) throw new Error(run.stderr);
};
const symbols = [`KBUILD_EXTRA_SYMBOLS=${ring.symvers}`];
const variants = [
  { name: 'uninstrumented', module: await prepareModule(work, 'none'), first: [ring.ko, benchKo] },
  { name: 'every line, printk', module: await prepareModule(work, 'printk', instrumentWith('printk')), first: [ring.ko] },
  { name: 'every line, --sink ring', module: await prepareModule(work, 'ring', instrumentWith('ring'), symbols), first: [ring.ko] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: { name: string; seconds: number; crumbs: number }[] = [];
let perCrumb = '';
for (const variant of variants) {
  const run = await runScenario({ moduleDir: variant.module.dir, scenario: 'dd', logDir: join(work, 'boots'), name: variant.name.replace(/\W+/g, '-'), firstModules: variant.first, timeoutS: 600 });
  const log = readFileSync(run.serialLogPath, 'latin1');
  if (run.exitedBy !== 'poweroff') throw new Error(`${variant.name}: the guest ended by ${run.exitedBy}; see ${run.serialLogPath}`);
  const reads = [...log.matchAll(/KCRUMB-DD run=\d+ blocks=\d+ start=([\d.]+) end=([\d.]+)/g)].map((m) => Number(m[2]) - Number(m[1]));
  const crumbs = log.split('\n').filter((line) => /kben#\d+@\d/.test(line)).length;
  rows.push({ name: variant.name, seconds: median(reads), crumbs });
  const bench = Object.fromEntries([...log.matchAll(/kcrumb-bench: (\w+) loops=(\d+) ns=(\d+) cycles=(\d+)/g)].map((m) => [m[1], { loops: Number(m[2]), ns: Number(m[3]), cycles: Number(m[4]) }]));
  if (bench.ring) {
    const each = (k: string) => bench[k].ns / bench[k].loops;
    const cyc = (k: string) => bench[k].cycles / bench[k].loops;
    const ring = each('ring') - each('empty');
    perCrumb = [
      '| breadcrumb | loops | ns each | TSC cycles each | vs ring |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| --sink ring (kcrumb_ring_record) | ${bench.ring.loops.toLocaleString('en')} | ${ring.toFixed(1)} | ${(cyc('ring') - cyc('empty')).toFixed(0)} | 1x |`,
      `| printk to the serial console | ${bench.printk.loops.toLocaleString('en')} | ${each('printk').toFixed(0)} | ${cyc('printk').toFixed(0)} | ${(each('printk') / ring).toFixed(0)}x |`,
      `(the empty loop, subtracted from the ring's: ${each('empty').toFixed(2)} ns a pass)`,
    ].join('\n');
  }
}
const none = rows[0].seconds;
console.log(perCrumb);
console.log('');
console.log('| examples/dm-remap | dd of 16 MiB, 4096 direct 4 KiB reads (median of 3) | vs uninstrumented | breadcrumb lines on the console |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows) console.log(`| ${row.name} | ${row.seconds.toFixed(2)} s | ${(row.seconds / none).toFixed(2)}x | ${row.crumbs.toLocaleString('en')} |`);
console.log('');
console.log(`QEMU ${'-smp 2'}, TCG, Debian ${kernelEnv().release ?? '6.1'}; boots and logs in ${work}.`);
