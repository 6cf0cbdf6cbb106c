/**
 * The file tree of a throwaway initramfs: the folders a busybox /init expects, /dev/console (the kernel
 * opens it before /init runs, and devtmpfs is not mounted yet), busybox with a symlink per applet, then
 * whatever the caller packs. Parent folders come before their files, and the first entry of a name wins.
 */
import type { CpioEntry } from './cpio.js';

const BASE_DIRS = ['bin', 'sbin', 'dev', 'etc', 'lib', 'lib/modules', 'lib64', 'proc', 'sys', 'tmp', 'run', 'usr', 'usr/bin', 'usr/lib'];

/** bin/busybox (its bytes and libraries already in `busybox`) and bin/<applet> -> busybox for each applet. */
export function busyboxEntries(busybox: CpioEntry[], applets: string[]): CpioEntry[] {
  const links: CpioEntry[] = applets.filter((a) => a && a !== 'busybox').map((applet) => ({ name: `bin/${applet}`, type: 'symlink', target: 'busybox' }));
  return [...busybox, ...links];
}

/** The archive's entries in a valid order: every folder (the missing parents too) by depth, then the rest; first of a name wins. */
export function initramfsEntries(packed: CpioEntry[]): CpioEntry[] {
  const entries: CpioEntry[] = [...BASE_DIRS.map((name): CpioEntry => ({ name, type: 'dir' })), { name: 'dev/console', type: 'char', major: 5, minor: 1 }, ...packed];
  const dirs = new Map<string, CpioEntry>();
  for (const e of entries) {
    const parts = bare(e.name).split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) dirs.set(dir, { name: dir, type: 'dir' });
    }
    if (e.type === 'dir' && !dirs.has(bare(e.name))) dirs.set(bare(e.name), { ...e, name: bare(e.name) });
  }
  const depth = (name: string) => name.split('/').length;
  const folders = [...dirs.values()].sort((a, b) => depth(a.name) - depth(b.name));
  const seen = new Set(dirs.keys());
  const rest = entries.filter((e) => {
    const name = bare(e.name);
    return e.type === 'dir' || seen.has(name) ? false : (seen.add(name), true);
  });
  return [...folders, ...rest];
}

function bare(name: string): string {
  return name.replace(/^\/+/, '');
}
