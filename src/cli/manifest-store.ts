import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { parseManifest } from '../manifest/parse.js';
export { manifestFilePath } from '../manifest/recorded-sources.js';
import { OLDEST_LOCATABLE_VERSION, OLDEST_READABLE_VERSION, type Manifest } from '../manifest/schema.js';

/** Manifests live in `.kcrumb/` of the directory kcrumb instrument ran in, one `<tag>.json` per run. */
export const MANIFEST_DIR = '.kcrumb';

export interface StoredManifest {
  path: string;
  manifest: Manifest;
}

export function defaultManifestPath(cwd: string, tag: string): string {
  return join(cwd, MANIFEST_DIR, `${tag}.json`);
}

/**
 * The manifests named by `--manifest FILE|DIR`, or all of `.kcrumb/` in cwd. A named path that does not
 * exist or does not parse is an error; without one, a missing `.kcrumb/` just means none.
 */
export function loadManifests(cwd: string, option?: string, parts: 'whole' | 'without-crumbs' = 'whole'): StoredManifest[] {
  const target = resolve(cwd, option ?? MANIFEST_DIR);
  if (!existsSync(target)) {
    if (option) throw new KcrumbError('no-manifest', `${option}: no such manifest file or directory`, 'give the .kcrumb/ folder where kcrumb instrument ran, or a manifest file in it');
    return [];
  }
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((name) => name.endsWith('.json')).sort().map((name) => join(target, name))
    : [target];
  return files.map((path) => ({ path, manifest: readManifest(path, parts) }));
}

/** loadManifests for a command that cannot work without one: none found is an error. */
export function requireManifests(cwd: string, option?: string): StoredManifest[] {
  const stored = loadManifests(cwd, option);
  if (stored.length === 0) throw new KcrumbError('no-manifest', `no manifest in ${option ? `${option} (no *.json written by kcrumb instrument there)` : resolve(cwd, MANIFEST_DIR)}`);
  return stored;
}

/** Past this size a manifest is not read as one string (V8 caps strings near 512 MiB). */
const WHOLE_LIMIT = 256 << 20;

/**
 * A manifest from disk. A huge one (a whole tree, millions of breadcrumbs) is read without its
 * breadcrumbs when the caller only needs its files (strip): our writer puts them last (serialize.ts).
 */
function readManifest(path: string, parts: 'whole' | 'without-crumbs'): Manifest {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new KcrumbError('manifest', `${path}: not a regular file`);
    const size = stat.size;
    // Breadcrumbs of an older manifest miss what locate needs; its files are still right for strip.
    const oldest = parts === 'whole' ? OLDEST_LOCATABLE_VERSION : OLDEST_READABLE_VERSION;
    const mib = Math.round(size / 2 ** 20);
    if (size > WHOLE_LIMIT && parts === 'whole') {
      throw new KcrumbError('manifest', `${path}: ${mib} MiB is too large to load`, 'instrument only the files you will run: a kernel with breadcrumbs on every line of a whole tree does not boot');
    }
    const manifest = parseManifest(size <= WHOLE_LIMIT ? readFileSync(path, 'utf8') : withoutCrumbs(path, size), path, oldest);
    // Written relative to the manifest's folder, so a copied or moved tree names its own files.
    manifest.root = resolve(dirname(path), manifest.root);
    return manifest;
  } catch (error) {
    if (error instanceof KcrumbError) throw error;
    throw new KcrumbError('manifest', `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The manifest's text with an empty breadcrumb list: its head, and its tail from `"files":` on. */
function withoutCrumbs(path: string, size: number): string {
  const fd = openSync(path, 'r');
  try {
    const read = (start: number, length: number) => {
      const buffer = Buffer.alloc(length);
      return buffer.subarray(0, readSync(fd, buffer, 0, length, start)).toString('utf8');
    };
    const head = read(0, 64 << 10);
    const crumbsAt = head.indexOf('"crumbs": [');
    for (let tailSize = 1 << 20; ; tailSize *= 4) {
      const tail = read(Math.max(0, size - tailSize), Math.min(size, tailSize));
      const filesAt = tail.indexOf('\n ],\n "files": ');
      if (crumbsAt >= 0 && filesAt >= 0) return head.slice(0, crumbsAt) + '"crumbs": [' + tail.slice(filesAt);
      if (tailSize >= size) throw new Error('not written by kcrumb instrument');
    }
  } finally {
    closeSync(fd);
  }
}

/** The root as a manifest at `manifestPath` records it: relative to the manifest's folder. */
export function recordedRoot(manifestPath: string, root: string): string {
  return relative(dirname(manifestPath), root) || '.';
}

/** The tags of the manifests in `dir`, each read from the file's head (no need to load them): tag -> path. */
export function tagsIn(dir: string): Map<string, string> {
  const tags = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return tags;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      const fd = openSync(path, 'r');
      const buffer = Buffer.alloc(4096);
      const head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
      closeSync(fd);
      const tag = /"tag": "(k[0-9a-z]{3})"/.exec(head)?.[1];
      if (tag && !tags.has(tag)) tags.set(tag, path);
    } catch {
      // unreadable: loadManifests names it when it matters
    }
  }
  return tags;
}
