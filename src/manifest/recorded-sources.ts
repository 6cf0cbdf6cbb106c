import { resolve } from 'node:path';
import { sha256 } from './hash.js';
import type { Manifest, ManifestFile } from './schema.js';

/** A run that recorded this text: as the file it started from, or as the file it wrote. */
export interface Recognised {
  as: 'original' | 'instrumented';
  tag: string;
}

/**
 * "Is this source still what the manifest recorded?", decided in one place, for locate-freeze's warnings,
 * zoom's check before it re-instruments and strip's verdict. The manifests' hashes of every file, by the
 * path `pathOf` gives it (the edge resolves it against the run's root). kcrumb never moves a line, so a
 * text any known run started from or wrote keeps the line numbers of all of them.
 */
export class RecordedSources {
  private readonly byPath = new Map<string, { tag: string; file: ManifestFile }[]>();

  constructor(manifests: readonly Manifest[], pathOf: (manifest: Manifest, file: ManifestFile) => string) {
    for (const manifest of manifests) {
      for (const file of manifest.files) {
        const path = pathOf(manifest, file);
        const records = this.byPath.get(path) ?? [];
        records.push({ tag: manifest.tag, file });
        this.byPath.set(path, records);
      }
    }
  }

  /** Some manifest records a file at `path`. */
  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /** Every run that recorded `text` as the file at `path`; none: the file changed since (or was never recorded). */
  recognise(path: string, text: string): Recognised[] {
    const records = this.byPath.get(path);
    if (!records) return [];
    const hash = sha256(text);
    const found: Recognised[] = [];
    for (const { tag, file } of records) {
      if (file.originalSha256 === hash) found.push({ as: 'original', tag });
      if (file.instrumentedSha256 === hash) found.push({ as: 'instrumented', tag });
    }
    return found;
  }
}

/** Where a manifest's file is on disk: its path resolved against the run's root. */
export function manifestFilePath(manifest: Manifest, path: string): string {
  return resolve(manifest.root, path);
}
