/**
 * Real-kernel harness: build a dm target module against Debian's headers, pack it in an initramfs with
 * busybox, dmsetup, dm-mod and brd, boot Debian's kernel under QEMU (TCG) with the serial console in a
 * file, and tell how the boot ended. Everything comes from scripts/kernel-env.sh (KCRUMB_* in
 * $KCRUMB_CACHE/kernel.env).
 *
 *   const ko = await buildModule(dir, logDir);                 // dir: a copy of examples/dm-remap
 *   const run = await runScenario({ moduleDir: dir, scenario: 'remove', logDir });
 *   run.exitedBy  // 'panic' (the hang was detected), 'poweroff' (init finished), 'timeout', 'other'
 *
 * The kernel arguments turn a hang into a panic within seconds (RCU stall timeout 3 s and
 * panic_on_rcu_stall, softlockup_panic with watchdog_thresh=2), and panic=-1 with -no-reboot makes
 * QEMU exit on the panic. Under TCG there is no PMU, so no hard-lockup detector: a CPU spinning with
 * interrupts off is found by another CPU's RCU stall check (its NMI backtrace shows the stuck CPU),
 * hence -smp 2.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { type CpioEntry, writeCpio } from './cpio.js';
import { kernelEnv } from '../support/kernel-env.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const GUEST_INIT = join(HERE, 'guest', 'init');
export const EXAMPLE_DIR = resolve(HERE, '..', '..', 'examples', 'dm-remap');

/** Host tools the harness runs. */
const TOOLS = ['qemu-system-x86_64', 'busybox', 'dmsetup', 'make', 'gcc-12', 'ldd'];

export interface QemuEnv {
  headers: string;
  vmlinuz: string;
  /** lib/modules/<release> of the same kernel (dm-mod.ko, brd.ko). */
  modules: string;
}

function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
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

function run(cmd: string, args: string[], options: { cwd?: string; log: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<number> {
  const fd = openSync(options.log, 'a');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.on('error', (error) => (clearTimeout(timer), closeSync(fd), reject(error)));
    child.on('close', (code, signal) => (clearTimeout(timer), closeSync(fd), resolvePromise(signal ? -1 : (code ?? 0))));
  });
}

/**
 * `make -C $HEADERS M=dir modules` (the folder's own Kbuild/Makefile), with KCFLAGS=-Werror unless
 * werror is false. Returns the path of the one .ko built; throws with the log's tail on failure.
 */
export async function buildModule(dir: string, logDir: string, options: { werror?: boolean } = {}): Promise<string> {
  const env = kernelEnv();
  if (!env.headers) throw new Error('buildModule: no kernel headers (run scripts/kernel-env.sh)');
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, 'module-build.log');
  writeFileSync(log, '');
  const flags = options.werror === false ? '' : 'KCFLAGS=-Werror';
  const code = await run('make', ['-C', env.headers, `M=${resolve(dir)}`, ...(flags ? [flags] : []), 'modules'], { log, env: { LANG: 'C', LC_ALL: 'C' } });
  const kos = readdirSync(dir).filter((f) => f.endsWith('.ko'));
  if (code !== 0 || kos.length !== 1) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
    throw new Error(`module build in ${dir} failed (exit ${code}, ${kos.length} .ko); ${log}:\n${tail}`);
  }
  return join(dir, kos[0]);
}

/** Host binary plus the shared libraries `ldd` lists, as initramfs entries (none for a static one). */
function withLibraries(binary: string, as: string): CpioEntry[] {
  const entries: CpioEntry[] = [{ name: as, type: 'file', data: readFileSync(binary), mode: 0o755 }];
  let out = '';
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return entries; // "not a dynamic executable"
  }
  for (const m of out.matchAll(/(\/\S+) \(0x/g)) {
    entries.push({ name: m[1], type: 'file', data: readFileSync(realpathSync(m[1])), mode: 0o755 });
  }
  return entries;
}

/**
 * Writes `out`: busybox (every applet as a symlink), dmsetup and its libraries, dm-mod.ko and brd.ko of
 * the guest kernel, the module `ko` as /lib/modules/dm-remap.ko, and test/kernel/guest/init.
 */
export function buildInitramfs(ko: string, out: string, env: QemuEnv): void {
  const busybox = realpathSync(which('busybox')!);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const entries: CpioEntry[] = ['bin', 'sbin', 'dev', 'etc', 'lib', 'lib/modules', 'lib64', 'proc', 'sys', 'tmp', 'run', 'usr', 'usr/lib'].map((name) => ({ name, type: 'dir' }));
  entries.push({ name: 'dev/console', type: 'char', major: 5, minor: 1 });
  entries.push(...withLibraries(busybox, 'bin/busybox'));
  for (const applet of applets) if (applet !== 'busybox') entries.push({ name: `bin/${applet}`, type: 'symlink', target: 'busybox' });
  entries.push(...withLibraries(which('dmsetup')!, 'sbin/dmsetup'));
  for (const rel of ['kernel/drivers/md/dm-mod.ko', 'kernel/drivers/block/brd.ko']) {
    entries.push({ name: `lib/modules/${rel.split('/').pop()}`, type: 'file', data: readFileSync(join(env.modules, rel)) });
  }
  entries.push({ name: 'lib/modules/dm-remap.ko', type: 'file', data: readFileSync(ko) });
  entries.push({ name: 'init', type: 'file', data: readFileSync(GUEST_INIT), mode: 0o755 });
  // Parent folders of the libraries (lib/x86_64-linux-gnu, usr/lib/...), before their files.
  const dirs = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.name));
  const parents: CpioEntry[] = [];
  for (const e of entries) {
    const parts = e.name.replace(/^\/+/, '').split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) (dirs.add(d), parents.push({ name: d, type: 'dir' }));
    }
  }
  const seen = new Set<string>();
  const unique = [...entries.filter((e) => e.type === 'dir'), ...parents, ...entries.filter((e) => e.type !== 'dir')].filter((e) => {
    const name = e.name.replace(/^\/+/, '');
    return seen.has(name) ? false : (seen.add(name), true);
  });
  writeCpio(out, unique);
}

/**
 * remove: dmsetup remove with remaps (the teardown double lock); map-hang: CPU 1 spins in remap_map with
 * the lock held; hang-locked: CPU 1 keeps the lock in remap_hold_lock and CPU 0 freezes waiting for it in
 * remap_map (nothing can report it: QEMU runs until the timeout kills it).
 */
export type ScenarioName = 'remove' | 'map-hang' | 'hang-locked';

export interface ScenarioOptions {
  /** Folder holding the built module (one .ko). */
  moduleDir: string;
  scenario: ScenarioName;
  /** Load dm-remap with fixed=1. */
  fixed?: boolean;
  /** Sectors remapped before `dmsetup remove` (default [1000]; [] for none). */
  remaps?: number[];
  /** Sector whose block map-hang and hang-locked freeze on (default 2048). */
  hangSector?: number;
  smp?: number;
  /** Host-side limit; QEMU is killed by its PID after it (default 90 s). */
  timeoutS?: number;
  logDir: string;
  /** Base name of the files in logDir (default: scenario, plus -fixed). */
  name?: string;
  /** More kernel arguments. */
  kernelArgs?: string[];
}

export interface ScenarioResult {
  serialLogPath: string;
  /** panic: a hang was detected and QEMU exited on the panic; poweroff: init powered off; timeout: killed. */
  exitedBy: 'panic' | 'poweroff' | 'timeout' | 'other';
  ms: number;
}

/** Kernel arguments that turn a hang into a panic, and a panic into QEMU's exit (with -no-reboot). */
export const HANG_TO_PANIC = [
  'panic=-1',
  'rcupdate.rcu_cpu_stall_timeout=3',
  'sysctl.kernel.panic_on_rcu_stall=1',
  'softlockup_panic=1',
  'watchdog_thresh=2',
  'unknown_nmi_panic',
];

/** Boots the guest once; the serial console goes to `<logDir>/<name>.serial.log`. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const env = kernelEnv();
  const qenv: QemuEnv = { headers: env.headers!, vmlinuz: env.vmlinuz!, modules: env.modules! };
  const name = options.name ?? options.scenario + (options.fixed ? '-fixed' : '');
  mkdirSync(options.logDir, { recursive: true });
  const kos = readdirSync(options.moduleDir).filter((f) => f.endsWith('.ko'));
  if (kos.length !== 1) throw new Error(`runScenario: expected one .ko in ${options.moduleDir}, found ${kos.length}`);
  const initrd = join(options.logDir, `${name}.initramfs.cpio`);
  buildInitramfs(join(options.moduleDir, kos[0]), initrd, qenv);

  const serialLogPath = join(options.logDir, `${name}.serial.log`);
  const remaps = options.remaps ?? [1000];
  const append = [
    'console=ttyS0,115200',
    'loglevel=7',
    ...HANG_TO_PANIC,
    `kcrumb.scenario=${options.scenario}`,
    `kcrumb.fixed=${options.fixed ? 1 : 0}`,
    `kcrumb.remaps=${remaps.length ? remaps.join(',') : 'none'}`,
    `kcrumb.hang_sector=${options.hangSector ?? 2048}`,
    ...(options.kernelArgs ?? []),
  ].join(' ');
  const args = [
    '-accel', 'tcg', '-m', '512', '-smp', String(options.smp ?? 2),
    '-no-user-config', '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-kernel', qenv.vmlinuz, '-initrd', initrd, '-append', append,
    '-serial', `file:${serialLogPath}`,
  ];
  writeFileSync(join(options.logDir, `${name}.qemu-args.json`), JSON.stringify(args, null, 1) + '\n');

  const timeoutS = options.timeoutS ?? 90;
  const started = Date.now();
  const out = openSync(join(options.logDir, `${name}.qemu.out`), 'w');
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', out, out] });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (qemu.pid) process.kill(qemu.pid, 'SIGKILL');
  }, timeoutS * 1000);
  await new Promise<void>((resolvePromise, reject) => {
    qemu.on('error', (error) => (clearTimeout(timer), reject(error)));
    qemu.on('exit', () => (clearTimeout(timer), resolvePromise()));
  });
  closeSync(out);
  const ms = Date.now() - started;
  const serial = existsSync(serialLogPath) ? readFileSync(serialLogPath, 'latin1') : '';
  const exitedBy = timedOut
    ? 'timeout'
    : /Kernel panic - not syncing/.test(serial)
      ? 'panic'
      : /reboot: Power down/.test(serial)
        ? 'poweroff'
        : 'other';
  const result: ScenarioResult = { serialLogPath, exitedBy, ms };
  writeFileSync(join(options.logDir, `${name}.result.json`), JSON.stringify(result, null, 1) + '\n');
  return result;
}
