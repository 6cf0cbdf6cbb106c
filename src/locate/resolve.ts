/**
 * From a breadcrumb seen in the log to the manifest entry that printed it. The log's tag picks the
 * manifest, so breadcrumbs of an old run (another tag) are never mistaken for this one's.
 */
import type { CrumbHit } from '../breadcrumb.js';
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';

export type Resolution =
  | { ok: true; manifest: number; crumb: ManifestCrumb }
  | { ok: false; why: 'unknown-tag' | 'unknown-id' };

export class CrumbResolver {
  private readonly byTag = new Map<string, number>();

  /** On a repeated tag the first manifest wins; the edge warns about the duplicate. */
  constructor(readonly manifests: readonly Manifest[]) {
    manifests.forEach((manifest, index) => {
      if (!this.byTag.has(manifest.tag)) this.byTag.set(manifest.tag, index);
    });
  }

  knowsTag(tag: string): boolean {
    return this.byTag.has(tag);
  }

  resolve(hit: Pick<CrumbHit, 'tag' | 'id'>): Resolution {
    const manifest = this.byTag.get(hit.tag);
    if (manifest === undefined) return { ok: false, why: 'unknown-tag' };
    const crumb = this.manifests[manifest].crumbs[hit.id - 1];
    // the id check guards against a manifest whose entries were edited by hand
    if (!crumb || crumb.id !== hit.id) return { ok: false, why: 'unknown-id' };
    return { ok: true, manifest, crumb };
  }

  /** Names of every instrumented function, to spot them in backtraces. */
  functionNames(): Set<string> {
    const names = new Set<string>();
    for (const manifest of this.manifests) for (const fn of manifest.functions) names.add(fn.name);
    return names;
  }
}
