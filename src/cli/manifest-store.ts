import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { parseManifest } from '../manifest/parse.js';
import type { Manifest } from '../manifest/schema.js';

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
export function loadManifests(cwd: string, option?: string): StoredManifest[] {
  const target = resolve(cwd, option ?? MANIFEST_DIR);
  if (!existsSync(target)) {
    if (option) throw new KcrumbError('manifest', `${option}: no such manifest file or directory`);
    return [];
  }
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((name) => name.endsWith('.json')).sort().map((name) => join(target, name))
    : [target];
  return files.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new KcrumbError('manifest', `${path}: cannot read (${(error as NodeJS.ErrnoException).code})`);
    }
    return { path, manifest: parseManifest(text, path) };
  });
}

/** Absolute path of a manifest's file entry. */
export function manifestFilePath(manifest: Manifest, path: string): string {
  return resolve(manifest.root, path);
}
