/** Writes an initramfs: the base tree of src/hunt/initramfs.ts, busybox, and what the caller packs. */
import { writeFileSync } from 'node:fs';
import { cpioArchive, type CpioEntry } from '../../hunt/cpio.js';
import { busyboxEntries, initramfsEntries } from '../../hunt/initramfs.js';
import { busybox } from './host.js';

/** Writes `out`; returns its size in bytes. Throws when busybox is not installed. */
export function writeInitramfs(out: string, packed: CpioEntry[]): number {
  const box = busybox();
  if (!box) throw new Error('busybox is not installed (Debian: apt install busybox-static)');
  const archive = cpioArchive(initramfsEntries([...busyboxEntries(box.entries, box.applets), ...packed]));
  writeFileSync(out, archive);
  return archive.length;
}
