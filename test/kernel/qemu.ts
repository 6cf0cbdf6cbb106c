/**
 * Real-kernel harness: build a bundled example's module against Debian's headers, pack it in an
 * initramfs with busybox and what the example needs (dm-remap: dmsetup, dm-mod and brd; blk-stall:
 * nothing more), boot Debian's kernel under QEMU (TCG) with the serial console in a file, and tell how
 * the boot ended. Everything comes from scripts/kernel-env.sh (KCRUMB_* in $KCRUMB_CACHE/kernel.env).
 *
 *   const ko = await buildModule(dir, logDir);                 // dir: a copy of examples/dm-remap
 *   const run = await runScenario({ moduleDir: dir, scenario: 'remove', logDir });
 *   runScenario({ moduleDir, example: BLK_STALL, scenario: 'flush-stall', ddBlocks: 32, logDir }) // examples/blk-stall
 *   run.exitedBy  // 'panic' (the hang was detected), 'poweroff' (init finished), 'timeout', 'other'
 *
 * The kernel arguments turn a hang into a panic within seconds (RCU stall timeout 3 s and
 * panic_on_rcu_stall, softlockup_panic with watchdog_thresh=2), and panic=-1 with -no-reboot makes
 * QEMU exit on the panic. Under TCG there is no PMU, so no hard-lockup detector: a CPU spinning with
 * interrupts off is found by another CPU's RCU stall check (its NMI backtrace shows the stuck CPU),
 * hence -smp 2.
 *
 * The pieces (cpio writer, kernel command line, kbuild, QEMU with its serial file) are the ones
 * `kcrumb hunt` uses, from src/hunt/ and src/cli/hunt/; this file adds the tests' own guest/init and
 * its scenarios.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { HANG_TO_PANIC_ARGS } from '../../src/doctor/doctor.js';
import type { CpioEntry } from '../../src/hunt/cpio.js';
import { FAST_DETECTOR_ARGS, guestKernelArgs } from '../../src/hunt/kernel-args.js';
import { which, withLibraries } from '../../src/cli/hunt/host.js';
import { buildModules } from '../../src/cli/hunt/kbuild.js';
import { writeInitramfs } from '../../src/cli/hunt/pack.js';
import { bootGuest } from '../../src/cli/hunt/qemu.js';
import { kernelEnv } from '../support/kernel-env.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const GUEST_INIT = join(HERE, 'guest', 'init');
export const EXAMPLE_DIR = resolve(HERE, '..', '..', 'examples', 'dm-remap');

/** A bundled example as a guest runs it. */
export interface GuestExample {
  /** Its folder in examples/. */
  dir: string;
  /** The module's name: packed as /lib/modules/<module>.ko. */
  module: string;
  /** The guest's /init, which reads its scenario from the kernel arguments. */
  init: string;
  /** Host programs packed with their libraries (as sbin/<name>). */
  programs: string[];
  /** Modules of the guest kernel packed as /lib/modules/<name>.ko, paths under lib/modules/<release>. */
  kernelModules: string[];
}

/** examples/dm-remap: the target over two brd RAM disks, driven by dmsetup (test/kernel/guest/init). */
export const DM_REMAP: GuestExample = {
  dir: EXAMPLE_DIR,
  module: 'dm-remap',
  init: GUEST_INIT,
  programs: ['dmsetup'],
  kernelModules: ['kernel/drivers/md/dm-mod.ko', 'kernel/drivers/block/brd.ko'],
};

/** examples/blk-stall: a blk-mq disk of its own, driven by busybox alone (test/kernel/guest/blk-stall.sh). */
export const BLK_STALL: GuestExample = {
  dir: resolve(HERE, '..', '..', 'examples', 'blk-stall'),
  module: 'blk-stall',
  init: join(HERE, 'guest', 'blk-stall.sh'),
  programs: [],
  kernelModules: [],
};

/** Host tools the harness runs. */
const TOOLS = ['qemu-system-x86_64', 'busybox', 'dmsetup', 'make', 'gcc-12', 'ldd'];

export interface QemuEnv {
  headers: string;
  vmlinuz: string;
  /** lib/modules/<release> of the same kernel (dm-mod.ko, brd.ko). */
  modules: string;
}

/** What is missing for the QEMU tests, or [] when they can run. */
export function missingForQemu(): string[] {
  const env = kernelEnv();
  const missing: string[] = [];
  for (const key of ['headers', 'vmlinuz', 'modules'] as const) {
    if (!env[key] || !existsSync(env[key]!)) missing.push(`Debian's kernel ${key}`);
  }
  for (const tool of TOOLS) if (!which(tool)) missing.push(tool);
  if (env.missing) missing.push(`kernel-env.sh said: ${env.missing}`);
  return missing;
}

/**
 * The kernel environment, or undefined after `t.skip(reason)`. With CI set, a missing piece throws:
 * CI installs everything with scripts/kernel-env.sh, so a skip there would hide a broken setup.
 */
export function needQemu(t: TestContext): QemuEnv | undefined {
  const missing = missingForQemu();
  if (missing.length === 0) {
    const env = kernelEnv();
    return { headers: env.headers!, vmlinuz: env.vmlinuz!, modules: env.modules! };
  }
  const reason = `needs ${missing.join(', ')} (run scripts/kernel-env.sh as root)`;
  if (process.env.CI) throw new Error(`${reason}: missing in CI`);
  t.skip(reason);
  return undefined;
}

/**
 * `make -C $HEADERS M=dir modules` (the folder's own Kbuild/Makefile), with KCFLAGS=-Werror unless
 * werror is false. Returns the path of the one .ko built; throws with the log's tail on failure.
 */
export async function buildModule(dir: string, logDir: string, options: { werror?: boolean; makeArgs?: string[] } = {}): Promise<string> {
  const env = kernelEnv();
  if (!env.headers) throw new Error('buildModule: no kernel headers (run scripts/kernel-env.sh)');
  mkdirSync(logDir, { recursive: true });
  const kos = await buildModules(dir, env.headers, join(logDir, 'module-build.log'), { werror: options.werror !== false, makeArgs: options.makeArgs });
  if (kos.length !== 1) throw new Error(`module build in ${dir} made ${kos.length} .ko, expected one`);
  return kos[0];
}

/**
 * Writes `out`: busybox (every applet as a symlink), the example's programs with their libraries and
 * guest kernel modules (dm-remap: dmsetup, dm-mod.ko, brd.ko), the module `ko` as
 * /lib/modules/<example.module>.ko, `first` (modules init loads before it, in order: kcrumb_ring.ko) in
 * /lib/modules/first/, and the example's init.
 */
export function buildInitramfs(ko: string, out: string, env: QemuEnv, first: string[] = [], example: GuestExample = DM_REMAP): void {
  const entries: CpioEntry[] = example.programs.flatMap((program) => withLibraries(which(program)!, `sbin/${program}`));
  for (const rel of example.kernelModules) {
    entries.push({ name: `lib/modules/${rel.split('/').pop()}`, type: 'file', data: readFileSync(join(env.modules, rel)) });
  }
  entries.push({ name: `lib/modules/${example.module}.ko`, type: 'file', data: readFileSync(ko) });
  first.forEach((path, i) => entries.push({ name: `lib/modules/first/${i}-${path.split('/').pop()}`, type: 'file', data: readFileSync(path) }));
  entries.push({ name: 'init', type: 'file', data: readFileSync(example.init), mode: 0o755 });
  writeInitramfs(out, entries);
}

/**
 * remove: dmsetup remove with remaps (the teardown double lock); map-hang: CPU 1 spins in remap_map with
 * the lock held; hang-locked: CPU 1 keeps the lock in remap_hold_lock and CPU 0 freezes waiting for it in
 * remap_map (nothing can report it: QEMU runs until the timeout kills it); dd: three timed reads of the
 * device (bench/ring-cost.ts), then power off; hang-sync: the metadata work item sleeps waiting for a
 * completion nobody signals and dmsetup remove sleeps flushing it; hang-sync-locked: the work item sleeps
 * holding sync_mutex and the destructor sleeps waiting for it (both: load with fixed=1 and boot with
 * SLEEP_TO_PANIC); ring-checks: with kcrumb_ring.ko loaded first, reads its debugfs file onto the console,
 * presses its SysRq key and tries to unload it (test/kernel/ring.test.ts); oops-null, oops-page: a work
 * item oopses (NULL dereference, memset past its page) and the machine goes on; warn-map: remap_map warns
 * once and I/O goes on (with kcrumb_ring.ko loaded, init then copies its debugfs file to the console);
 * bug-dtr: BUG_ON in remap_dtr on dmsetup remove (load with fixed=1). None of these
 * four panics: init powers off. examples/blk-stall (test/kernel/guest/blk-stall.sh): io writes blocks
 * through the disk, reads them back, compares, flushes it and powers off; flush-stall does the same with
 * drain_on_flush=1, and the flush freezes its CPU in queue_rq.
 */
export type ScenarioName = 'remove' | 'map-hang' | 'hang-locked' | 'dd' | 'hang-sync' | 'hang-sync-locked' | 'ring-checks' | 'oops-null' | 'oops-page' | 'warn-map' | 'bug-dtr' | 'io' | 'flush-stall';

export interface ScenarioOptions {
  /** Folder holding the built module (one .ko). */
  moduleDir: string;
  /** The example the module was built from (default dm-remap). */
  example?: GuestExample;
  scenario: ScenarioName;
  /** Load dm-remap with fixed=1. */
  fixed?: boolean;
  /** Sectors remapped before `dmsetup remove` (default [1000]; [] for none). */
  remaps?: number[];
  /** Sector whose block map-hang and hang-locked freeze on (default 2048). */
  hangSector?: number;
  /** 4 KiB blocks each read of the dd scenario reads (default 4096: the whole 16 MiB device); blk-stall: the blocks written and read back. */
  ddBlocks?: number;
  smp?: number;
  /** Host-side limit; QEMU is killed by its PID after it (default 90 s). */
  timeoutS?: number;
  logDir: string;
  /** Base name of the files in logDir (default: scenario, plus -fixed). */
  name?: string;
  /** More kernel arguments. */
  kernelArgs?: string[];
  /** Modules loaded before dm-remap, in order (kcrumb_ring.ko for --sink ring). */
  firstModules?: string[];
  /** An NMI to every CPU once the console is silent `silenceS` seconds after `after` printed (as hunt does). */
  nmi?: { silenceS: number; after: string };
}

export interface ScenarioResult {
  serialLogPath: string;
  /** panic: a hang was detected and QEMU exited on the panic; poweroff: init powered off; timeout: killed. */
  exitedBy: 'panic' | 'poweroff' | 'timeout' | 'other';
  ms: number;
  /** ms after the start the NMI of `nmi` was sent, when it was. */
  nmiAtMs?: number;
}

/** Kernel arguments that turn a hang into a panic, and a panic into QEMU's exit (with -no-reboot). */
export const HANG_TO_PANIC = [...HANG_TO_PANIC_ARGS, ...FAST_DETECTOR_ARGS];

/**
 * Kernel arguments that turn tasks asleep in D state into hung-task reports and a panic. The detector
 * reports, at one check, every task it already saw asleep at the check before (and 3 s or more ago), then
 * panics: checks 8 s apart give the destructor, which falls asleep a moment after the work item, a good
 * chance to be seen at the same check.
 */
export const SLEEP_TO_PANIC = ['hung_task_panic=1', 'sysctl.kernel.hung_task_timeout_secs=3', 'sysctl.kernel.hung_task_check_interval_secs=8'];

/** Boots the guest once; the serial console goes to `<logDir>/<name>.serial.log`. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const env = kernelEnv();
  const qenv: QemuEnv = { headers: env.headers!, vmlinuz: env.vmlinuz!, modules: env.modules! };
  const name = options.name ?? options.scenario + (options.fixed ? '-fixed' : '');
  mkdirSync(options.logDir, { recursive: true });
  const kos = readdirSync(options.moduleDir).filter((f) => f.endsWith('.ko'));
  if (kos.length !== 1) throw new Error(`runScenario: expected one .ko in ${options.moduleDir}, found ${kos.length}`);
  const initrd = join(options.logDir, `${name}.initramfs.cpio`);
  buildInitramfs(join(options.moduleDir, kos[0]), initrd, qenv, options.firstModules, options.example);

  const serialLogPath = join(options.logDir, `${name}.serial.log`);
  const remaps = options.remaps ?? [1000];
  const append = guestKernelArgs([
    `kcrumb.scenario=${options.scenario}`,
    `kcrumb.fixed=${options.fixed ? 1 : 0}`,
    `kcrumb.remaps=${remaps.length ? remaps.join(',') : 'none'}`,
    `kcrumb.hang_sector=${options.hangSector ?? 2048}`,
    `kcrumb.dd_blocks=${options.ddBlocks ?? 4096}`,
    ...(options.kernelArgs ?? []),
  ]);
  const boot = await bootGuest({
    kernel: qenv.vmlinuz,
    initrd,
    append,
    serialLog: serialLogPath,
    logBase: join(options.logDir, name),
    smp: options.smp ?? 2,
    timeoutS: options.timeoutS ?? 90,
    silenceS: options.nmi?.silenceS,
    silenceAfter: options.nmi?.after,
  });
  const exitedBy = boot.exitedBy === 'aborted' ? 'other' : boot.exitedBy;
  const result: ScenarioResult = { serialLogPath, exitedBy, ms: boot.ms, nmiAtMs: boot.nmiAtMs };
  writeFileSync(join(options.logDir, `${name}.result.json`), JSON.stringify(result, null, 1) + '\n');
  return result;
}
