/**
 * The kernel a hunt boots and builds for: by default the running one (/boot/vmlinuz-$(uname -r), its
 * /lib/modules/<release>/build and modules), each piece overridable. Before anything is built or
 * booted, every piece must exist and tell the same release.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { KcrumbError } from '../../errors.js';
import { bzImageRelease, releaseMismatch, utsRelease, vermagicRelease } from '../../hunt/kernel-release.js';
import { modinfoField } from './host.js';

export interface KernelPieces {
  image: string;
  kdir: string;
  modules: string;
  release: string;
}

export interface KernelChoice {
  kernel?: string;
  kdir?: string;
  modules?: string;
}

/** The pieces, checked: each exists and tells its release, and they all agree. Throws a one-line error. */
export function chooseKernel(cwd: string, choice: KernelChoice): KernelPieces {
  const running = release();
  const image = resolve(cwd, choice.kernel ?? `/boot/vmlinuz-${running}`);
  const kdir = resolve(cwd, choice.kdir ?? `/lib/modules/${running}/build`);
  const modules = resolve(cwd, choice.modules ?? `/lib/modules/${running}`);
  const named = (flag: string, given: string | undefined, path: string) => (given ? `${flag} ${given}` : `${path} (the running kernel's; ${flag} chooses another)`);
  if (!isFile(image)) throw new KcrumbError('input', `no kernel image ${named('--kernel', choice.kernel, image)}`, 'pass --kernel IMAGE (a bzImage, e.g. /boot/vmlinuz-<release>)');
  if (!existsSync(join(kdir, 'Makefile'))) {
    throw new KcrumbError('input', `no kbuild tree at ${named('--kdir', choice.kdir, kdir)}`, 'install the headers (Debian: apt install linux-headers-<release>) or pass --kdir DIR');
  }
  if (!existsSync(join(modules, 'kernel'))) throw new KcrumbError('input', `no kernel modules at ${named('--modules', choice.modules, modules)}`, 'pass --modules DIR (a lib/modules/<release> folder)');

  const imageRelease = bzImageRelease(readFileSync(image));
  if (!imageRelease) throw new KcrumbError('input', `${image}: not an x86 bzImage (no setup header)`);
  const uts = join(kdir, 'include', 'generated', 'utsrelease.h');
  const pieces = [
    { what: `the kernel ${image}`, release: imageRelease },
    { what: `the kbuild tree ${kdir}`, release: existsSync(uts) ? utsRelease(readFileSync(uts, 'utf8')) : undefined },
    { what: `the modules in ${modules}`, release: modulesRelease(modules) },
  ];
  const mismatch = releaseMismatch({ pieces });
  if (mismatch) throw new KcrumbError('input', mismatch, 'pass --kernel, --kdir and --modules of one kernel build');
  return { image, kdir, modules, release: imageRelease };
}

/** The built module against the image: a module of another build would be refused by insmod in the guest. */
export function checkBuiltModule(ko: string, kernel: KernelPieces): void {
  const built = vermagicRelease(modinfoField(ko, 'vermagic'));
  const mismatch = releaseMismatch({ pieces: [{ what: `the kernel ${kernel.image}`, release: kernel.release }, { what: `the built ${ko}`, release: built }] });
  if (mismatch) throw new KcrumbError('input', mismatch, 'pass a --kdir of the same build as --kernel');
}

/** The vermagic release of the first module found (breadth first) under `modules`/kernel. */
function modulesRelease(modules: string): string | undefined {
  const queue = [join(modules, 'kernel')];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) queue.push(path);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(entry.name)) return vermagicRelease(modinfoField(path, 'vermagic'));
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
