import type { FilePlan } from '../instrument/plan-file.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest } from './schema.js';

export interface FileHashes {
  originalSha256: string;
  instrumentedSha256: string;
}

/** What a manifest says about the run itself. */
export type ManifestHeader = Pick<Manifest, 'tool' | 'tag' | 'createdAt' | 'level' | 'template' | 'root' | 'loopLimit'>;

/**
 * Builds a manifest file by file, in the order breadcrumbs were numbered. `isInstrumented` says which
 * called names are instrumented functions (only those are kept as `calls`).
 */
export class ManifestBuilder {
  private readonly manifest: Manifest;

  constructor(header: ManifestHeader, private readonly isInstrumented: (name: string) => boolean) {
    const { loopLimit, ...rest } = header;
    this.manifest = { schema: MANIFEST_SCHEMA, version: MANIFEST_VERSION, ...rest, ...(loopLimit ? { loopLimit } : {}), files: [], functions: [], skipped: [], crumbs: [] };
  }

  /** Records a whole file left alone (scheduler, timekeeping, printk or console code). */
  skipFile(path: string, reason: string): void {
    (this.manifest.skippedFiles ??= []).push({ path, reason });
  }

  /** The id the next file's first breadcrumb gets. */
  get nextId(): number {
    return this.manifest.crumbs.length + 1;
  }

  /** Adds a planned file whose breadcrumbs were numbered from `firstId` (which must be nextId). */
  addFile(plan: Omit<FilePlan, 'edits'>, hashes: FileHashes, firstId: number): void {
    if (firstId !== this.nextId) throw new Error(`${plan.path}: numbered from ${firstId}, expected ${this.nextId}`);
    const file = this.manifest.files.length;
    this.manifest.files.push({ path: plan.path, originalSha256: hashes.originalSha256, instrumentedSha256: hashes.instrumentedSha256 });
    for (const fn of plan.functions) {
      const range: [number, number] | undefined = fn.siteCount > 0 ? [firstId + fn.firstSite, firstId + fn.firstSite + fn.siteCount - 1] : undefined;
      this.manifest.functions.push({ name: fn.name, file, line: fn.line, endLine: fn.endLine, reason: fn.reason, ...(range ? { crumbs: range } : {}) });
    }
    for (const skip of plan.skipped) this.manifest.skipped.push({ ...skip, file });
    for (const fn of plan.functions) {
      for (let i = fn.firstSite; i < fn.firstSite + fn.siteCount; i++) {
        const site = plan.sites[i];
        const calls = [...new Set(site.calls.filter(this.isInstrumented))];
        this.manifest.crumbs.push({
          id: firstId + i,
          file,
          line: site.line,
          column: site.column,
          function: fn.name,
          kind: site.kind,
          statement: site.statement,
          next: site.next.map((j) => firstId + j),
          ...(calls.length > 0 ? { calls } : {}),
          ...(site.loop ? { loop: true as const } : {}),
          ...(site.context ? { context: site.context, heldBy: site.heldBy } : {}),
        });
      }
    }
  }

  finish(): Manifest {
    return this.manifest;
  }
}
