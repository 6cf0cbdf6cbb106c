/**
 * Benchmark: kcrumb locate-freeze on a generated 1 GiB console log against `grep -a PATTERN | tail -1`
 * and `tac | grep -a -m1 PATTERN`, in the same run, on the same (page-cached) files.
 *
 *   node --import tsx bench/locate-freeze.ts [--size-mib 1024] [--runs 5] [--keep]
 *
 * Cases: `near-end` (breadcrumbs throughout, the last one a few KiB before the end, a soft lockup after
 * it) and `start-only` (the worst case: one breadcrumb in the first line, then only other messages).
 * Builds dist/ first (npm run build). Generated files go to a temporary directory (removed unless --keep).
 * Prints a markdown table on stdout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeManifest } from '../src/manifest/serialize.js';
import { demo } from '../test/locate/helpers.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const SIZE = option('--size-mib', 1024) * 1024 * 1024;
const RUNS = option('--runs', 5);
const KEEP = args.includes('--keep');
const PATTERN = 'kq7x#[0-9]*@[0-9]*';

const MESSAGES = [
  'EXT4-fs (vda1): re-mounted. Opts: errors=remount-ro. Quota mode: none.',
  'audit: type=1400 audit(1709630625.123:42): apparmor="STATUS" operation="profile_load" name="nvidia_modprobe"',
  'systemd-journald[233]: Received client request to flush runtime journal.',
  'device-mapper: ioctl: 4.47.0-ioctl (2022-07-28) initialised: dm-devel@redhat.com',
  'virtio_net virtio1 enp0s3: renamed from eth0',
  'IPv6: ADDRCONF(NETDEV_CHANGE): enp0s3: link becomes ready',
  'random: crng reseeded on system resumption',
  'usb 1-1: new high-speed USB device number 2 using ehci-pci',
  'sd 0:0:0:0: [sda] Write cache: enabled, read cache: enabled, doesn\'t support DPO or FUA',
  'blk_update_request: I/O error, dev vdb, sector 123456 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0',
];

function generate(path: string, withCrumbs: boolean): void {
  const fd = openSync(path, 'w');
  let written = 0;
  let line = 0;
  let time = 1;
  const walk = [5, 6, 7, 8, 1, 2, 3, 4, 10, 11, 12];
  while (written < SIZE) {
    const block: string[] = [];
    let bytes = 0;
    while (bytes < 4 << 20) {
      time += 0.00005;
      const stamp = `[${time.toFixed(6).padStart(12, ' ')}] `;
      let text: string;
      if ((withCrumbs && line % 2000 === 0) || line === 0) text = `kq7x#${walk[(line / 2000) % walk.length]}@${(line / 2000) % 2}`;
      else text = MESSAGES[line % MESSAGES.length];
      const l = stamp + text + '\n';
      block.push(l);
      bytes += l.length;
      line++;
    }
    const buffer = Buffer.from(block.join(''), 'latin1');
    writeSync(fd, buffer);
    written += buffer.length;
  }
  if (withCrumbs) {
    const tail = [
      `[${(time + 0.001).toFixed(6).padStart(12, ' ')}] kq7x#13@1`,
      ...Array.from({ length: 40 }, (_, i) => `[${(time + 1 + i).toFixed(6).padStart(12, ' ')}] ${MESSAGES[i % MESSAGES.length]}`),
      `[${(time + 44).toFixed(6).padStart(12, ' ')}] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [dmsetup:400]`,
      `[${(time + 44).toFixed(6).padStart(12, ' ')}] RIP: 0010:native_queued_spin_lock_slowpath+0x5d/0x2e0`,
      `[${(time + 44).toFixed(6).padStart(12, ' ')}]  demo_presuspend+0x2b/0x60 [dm_demo]`,
    ];
    writeSync(fd, tail.join('\n') + '\n');
  }
  closeSync(fd);
}

/** Whole-process times of RUNS runs; `work` gets the in-process times bench/timed-main.mjs reports. */
function time(command: string, argv: string[], cwd: string, check: (out: string) => boolean, work?: number[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(command, argv, { cwd, encoding: 'latin1', maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (!check(run.stdout)) throw new Error(`${command} ${argv.join(' ')}: unexpected output ${run.stdout.slice(0, 300)} ${run.stderr}`);
    times.push(ms);
    const reported = /kcrumb-work-ms ([\d.]+)/.exec(run.stderr);
    if (work && reported) work.push(Number(reported[1]));
  }
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-bench-'));
  try {
    const { manifest, instrumented } = await demo('kq7x', dir);
    mkdirSync(join(dir, 'drivers/md'), { recursive: true });
    writeFileSync(join(dir, 'drivers/md/dm-demo.c'), instrumented, 'latin1');
    mkdirSync(join(dir, '.kcrumb'));
    writeFileSync(join(dir, '.kcrumb/kq7x.json'), serializeManifest(manifest));
    const cases = [
      { name: 'near-end', file: join(dir, 'near-end.log'), crumbs: true, expect: 'dm-demo.c:47:9', last: 'kq7x#13@1' },
      { name: 'start-only', file: join(dir, 'start-only.log'), crumbs: false, expect: 'dm-demo.c:31:9', last: 'kq7x#5@0' },
    ];
    const rows: string[] = [];
    // Node's start-up and kcrumb's module loading, measured in the same run, for reference.
    const startup = median(time('node', [join(REPO, 'bin/kcrumb'), '--version'], dir, (out) => /^\d+\.\d+\.\d+/.test(out)));
    for (const c of cases) {
      const start = Date.now();
      generate(c.file, c.crumbs);
      process.stderr.write(`generated ${c.name} in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
      spawnSync('sh', ['-c', `cat '${c.file}' > /dev/null`]); // page cache warm for every tool alike
      const found = (out: string) => out.startsWith(`drivers/md/${c.expect}`);
      const kcrumb = time('node', [join(REPO, 'bin/kcrumb'), 'locate-freeze', c.file], dir, found);
      // The work alone: main() timed inside the process, after start-up (bench/timed-main.mjs).
      const work: number[] = [];
      time('node', [join(REPO, 'bench/timed-main.mjs'), 'locate-freeze', c.file], dir, found, work);
      if (work.length !== RUNS) throw new Error('bench/timed-main.mjs reported no time');
      const grep = time('sh', ['-c', `grep -a '${PATTERN}' '${c.file}' | tail -1`], dir, (out) => out.includes(c.last));
      const tac = time('sh', ['-c', `tac '${c.file}' | grep -a -m1 '${PATTERN}'`], dir, (out) => out.includes(c.last));
      const base = median(kcrumb);
      for (const [tool, times] of [
        ['kcrumb locate-freeze', kcrumb],
        [`grep -a PATTERN | tail -1`, grep],
        [`tac | grep -a -m1 PATTERN`, tac],
      ] as const) {
        const ratio = median(times) / base;
        const workMs = tool.startsWith('kcrumb') ? `${median(work).toFixed(0)} (${Math.min(...work).toFixed(0)}-${Math.max(...work).toFixed(0)})` : '';
        rows.push(`| ${c.name} | ${tool} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${ratio.toFixed(2)}x | ${workMs} |`);
      }
      if (!KEEP) rmSync(c.file, { force: true });
    }
    const size = `${(SIZE / 1024 / 1024).toFixed(0)} MiB`;
    process.stdout.write(
      [
        `locate-freeze on a generated ${size} console log, ${RUNS} runs each, page cache warm, LC_ALL=C, ${new Date().toISOString().slice(0, 10)}`,
        '',
        '| case | tool | median ms | min ms | max ms | time / kcrumb | kcrumb work ms, median (min-max), start-up aside |',
        '|---|---|---:|---:|---:|---:|---:|',
        ...rows,
        '',
        'near-end: breadcrumbs every 2000 lines, the last a few KiB before the end. start-only: one breadcrumb in the first line (worst case for reading from the end).',
        `Work: kcrumb's main() timed inside the process after Node's start-up and kcrumb's module loading (bench/timed-main.mjs), ${RUNS} fresh processes. Start-up alone (\`kcrumb --version\`) in the same run: ${startup.toFixed(0)} ms.`,
        '',
      ].join('\n'),
    );
  } finally {
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
