/**
 * `--ko`: resolves the frames of the kernel's reports that are in a module we have the `.ko` of, with
 * binutils (objdump for the symbol table, addr2line for the lines, inlined functions included). Missing
 * tools or a module without debug info give a note, never an error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Frame } from '../reports/frame.js';
import type { KernelReport } from '../reports/parse.js';
import { frameAddress, parseAddr2line, parseSymbolTable, placeFrame } from '../reports/symbolize.js';

/** Module name as the kernel prints it (`dm_remap`) -> its .ko; `-` and `_` are one in module names. */
export function findKos(paths: readonly string[]): Map<string, string> {
  const kos = new Map<string, string>();
  const add = (file: string) => {
    const name = file.split('/').pop()!.replace(/\.ko$/, '').replaceAll('-', '_');
    if (!kos.has(name)) kos.set(name, file);
  };
  for (const path of paths) {
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) if (entry.endsWith('.ko')) add(join(path, entry));
    } else if (path.endsWith('.ko')) add(path);
  }
  return kos;
}

/** Where .ko files sit by default: the manifests' roots and the folders of their source files. */
export function defaultKoPlaces(manifests: readonly { root: string; files: readonly { path: string }[] }[]): string[] {
  const places = new Set<string>();
  for (const m of manifests) {
    places.add(m.root);
    for (const f of m.files) places.add(dirname(resolve(m.root, f.path)));
  }
  return [...places];
}

/** Resolves in place every frame of `reports` in a module of `kos`; returns notes for the user. */
export function symbolizeReports(reports: readonly KernelReport[], kos: ReadonlyMap<string, string>): string[] {
  const notes: string[] = [];
  const frames = new Set(reports.flatMap((r) => [...r.frames, ...r.backtraces.flatMap((b) => b.frames), ...(r.guilty ? [r.guilty] : [])]));
  const byModule = new Map<string, Frame[]>();
  for (const frame of frames) {
    const ko = frame.module && kos.get(frame.module.replaceAll('-', '_'));
    if (ko) byModule.set(ko, [...(byModule.get(ko) ?? []), frame]);
  }
  if (byModule.size === 0) return notes;
  for (const [ko, list] of byModule) {
    const table = spawnSync('objdump', ['-t', ko], { encoding: 'latin1', maxBuffer: 64 << 20 });
    if (table.error || table.status !== 0) {
      notes.push(`cannot read the symbols of ${ko} (objdump: ${table.error?.message ?? table.stderr.trim()}): its frames stay unresolved`);
      continue;
    }
    const symbols = parseSymbolTable(table.stdout);
    const bySection = new Map<string, { frame: Frame; address: number }[]>();
    for (const frame of list) {
      const at = frameAddress(frame, symbols);
      if (at) bySection.set(at.section, [...(bySection.get(at.section) ?? []), { frame, address: at.address }]);
    }
    let resolved = 0;
    for (const [section, asked] of bySection) {
      const run = spawnSync('addr2line', ['-a', '-f', '-i', '-e', ko, '-j', section, ...asked.map((a) => `0x${a.address.toString(16)}`)], { encoding: 'latin1', maxBuffer: 64 << 20 });
      if (run.error) {
        notes.push(`addr2line could not run (${run.error.message}): install binutils to resolve frames to lines`);
        return notes;
      }
      parseAddr2line(run.stdout).forEach((chain, i) => {
        if (!asked[i] || chain.length === 0) return;
        placeFrame(asked[i].frame, chain);
        resolved++;
      });
    }
    if (resolved === 0) notes.push(`${ko} has no line information for its frames: build it with debug info (CONFIG_DEBUG_INFO, or -g in ccflags-y)`);
  }
  return notes;
}
