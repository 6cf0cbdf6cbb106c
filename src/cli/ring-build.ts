/**
 * Builds kcrumb_ring.ko (templates/ring/) with kbuild for one kernel: copies the source into a folder of
 * its own and runs `make -C <kernel build dir> M=<folder> modules`. Its Module.symvers is what an
 * instrumented module's build needs (KBUILD_EXTRA_SYMBOLS) to link to kcrumb_ring_record. `kcrumb ring
 * build` and `kcrumb hunt` both call buildRing.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { buildModules } from './hunt/kbuild.js';

export const RING_SOURCE_DIR = join(PACKAGE_ROOT, 'templates', 'ring');

export interface RingBuildOptions {
  /** The kernel's build folder: /lib/modules/<release>/build or a linux-headers folder. */
  kdir: string;
  /** Where the module is built (created if missing). */
  outDir: string;
  /** KCFLAGS=-Werror (default true: the module must build without a warning). */
  werror?: boolean;
  signal?: AbortSignal;
}

export interface RingBuild {
  dir: string;
  ko: string;
  /** Pass to the instrumented module's build: make ... KBUILD_EXTRA_SYMBOLS=<symvers>. */
  symvers: string;
  /** make's output. */
  log: string;
}

/** The build folder of a kernel release's headers. */
export function defaultKdir(release: string): string {
  return `/lib/modules/${release}/build`;
}

export async function buildRing(options: RingBuildOptions): Promise<RingBuild> {
  const kdir = resolve(options.kdir);
  if (!existsSync(join(kdir, 'Makefile'))) {
    throw new KcrumbError('usage', `${kdir}: no kernel build folder (no Makefile)`, 'install the headers of the kernel that will run (linux-headers-<release>), or pass --kdir DIR');
  }
  const dir = resolve(options.outDir);
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(RING_SOURCE_DIR)) copyFileSync(join(RING_SOURCE_DIR, file), join(dir, file));
  const log = join(dir, 'build.log');
  const [ko] = await buildModules(dir, kdir, log, { werror: options.werror !== false, signal: options.signal });
  const symvers = join(dir, 'Module.symvers');
  if (!existsSync(symvers)) throw new KcrumbError('input', `the build of ${ko} left no Module.symvers`, `its log: ${log}`);
  return { dir, ko, symvers, log };
}
