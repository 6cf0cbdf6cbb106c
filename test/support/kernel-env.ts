import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Where scripts/kernel-env.sh put Debian's kernel pieces. */
export interface KernelEnv {
  /** Unpacked linux-source-6.1 tree (at least drivers/md). */
  linuxSrc?: string;
  /** linux-headers-<abi>-amd64, ready for `make -C ... M=dir`. */
  headers?: string;
  [key: string]: string | undefined;
}

export const CACHE = process.env.KCRUMB_CACHE ?? join(homedir(), '.cache', 'kcrumb');

/** Reads `$KCRUMB_CACHE/kernel.env` (KEY=VALUE lines written by scripts/kernel-env.sh); env vars win. */
export function kernelEnv(): KernelEnv {
  const env: KernelEnv = {};
  const file = join(CACHE, 'kernel.env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^KCRUMB_(\w+)=(.*)$/.exec(line.trim());
      if (m) env[camel(m[1])] = m[2];
    }
  }
  for (const [key, value] of Object.entries(process.env)) {
    const m = /^KCRUMB_(\w+)$/.exec(key);
    if (m && value) env[camel(m[1])] = value;
  }
  return env;
}

function camel(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The kernel piece a test needs, or undefined after skipping the test with the reason. Under CI the
 * missing piece is a failure instead: CI installs everything (scripts/kernel-env.sh).
 */
export function needKernel(t: TestContext, key: keyof KernelEnv, hint = 'run scripts/kernel-env.sh'): string | undefined {
  const value = kernelEnv()[key];
  if (value && existsSync(value)) return value;
  const reason = `needs Debian's kernel ${String(key)} (${hint})`;
  if (process.env.CI) throw new Error(`${reason}: missing in CI`);
  t.skip(reason);
  return undefined;
}

/**
 * The unpacked source tree, with `folders` in it: a folder not extracted yet is fetched first by
 * scripts/kernel-env.sh (which keeps the folders it already has), under a lock so that test files
 * running at once do not extract into each other. Undefined after skipping, as needKernel.
 */
export function needSource(t: TestContext, folders: string[]): string | undefined {
  const src = kernelEnv().linuxSrc;
  const missing = folders.filter((folder) => !src || !existsSync(join(src, folder)));
  if (missing.length > 0) {
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'kernel-env.sh');
    mkdirSync(CACHE, { recursive: true });
    spawnSync('flock', [join(CACHE, 'kernel-env.lock'), script], { env: { ...process.env, KCRUMB_SRC_PATHS: missing.join(' ') }, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const root = needKernel(t, 'linuxSrc');
  if (!root) return undefined;
  const absent = folders.filter((folder) => !existsSync(join(root, folder)));
  if (absent.length === 0) return root;
  const reason = `needs ${absent.join(', ')} of Debian's linux-source (scripts/kernel-env.sh could not extract it)`;
  if (process.env.CI) throw new Error(reason);
  t.skip(reason);
  return undefined;
}
