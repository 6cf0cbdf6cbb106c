/**
 * What a hunt takes from the host, read-only: programs on PATH with the shared libraries `ldd` lists,
 * busybox's applets, a module's `modinfo` fields. Nothing here writes outside the caller's folder.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CpioEntry } from '../../hunt/cpio.js';

/** PATH, then the sbin folders a non-root PATH leaves out (dmsetup, insmod live there). */
export function which(program: string): string | undefined {
  if (program.includes('/')) return isExecutable(program) ? program : undefined;
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/local/sbin', '/usr/sbin', '/sbin'])) {
    if (dir && isExecutable(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The shared libraries `ldd` lists for a binary (none for a static one or a script). */
export function sharedLibraries(binary: string): string[] {
  let out = '';
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return []; // "not a dynamic executable"
  }
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
}

/** A host binary as `as` in the guest, plus its libraries at their own paths (the loader looks there). */
export function withLibraries(binary: string, as: string): CpioEntry[] {
  const entries: CpioEntry[] = [{ name: as, type: 'file', data: readFileSync(binary), mode: 0o755 }];
  for (const lib of sharedLibraries(binary)) entries.push({ name: lib, type: 'file', data: readFileSync(realpathSync(lib)), mode: 0o755 });
  return entries;
}

/** Busybox's bytes (and libraries, if it is not the static one) and its applet names. */
export function busybox(): { entries: CpioEntry[]; applets: string[] } | undefined {
  const path = which('busybox');
  if (!path) return undefined;
  const real = realpathSync(path);
  const applets = execFileSync(real, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return { entries: withLibraries(real, 'bin/busybox'), applets };
}

/** One `modinfo -F field` of a module file ('' when the field is absent). */
export function modinfoField(module: string, field: string): string {
  return execFileSync('modinfo', ['-F', field, module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A module's bytes as insmod wants them: busybox insmod reads no compressed module. */
export function moduleBytes(path: string): Buffer {
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dc'] : path.endsWith('.gz') ? ['gzip', '-dc'] : undefined;
  if (!tool) return readFileSync(path);
  return execFileSync(tool[0], [...tool.slice(1), path], { maxBuffer: 256 << 20 });
}

/** Whether hardware virtualisation works here: /dev/kvm opens, and a real KVM driver backs it. */
export function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  // Nested "PVM" KVM (kvm_pvm) opens fine but a stock kernel hangs in early boot under it.
  return ['kvm_intel', 'kvm_amd'].some((m) => existsSync(`/sys/module/${m}`));
}
