import { InternalError } from '../errors.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION, type CrumbContext, type CrumbKind, type Manifest, type ManifestCrumb, type ManifestDeferred, type ManifestSyncOp } from './schema.js';
import { crumbLine, EMPTY_LIST, functionLine, manifestHead, manifestTail, STREAMED_LIST_END, tailAfterFunctions, tailBeforeFunctions } from './serialize.js';

/** One breadcrumb of a file, with nothing that ties it to the tree (it crosses threads). */
export interface SiteRecord {
  line: number;
  column: number;
  kind: CrumbKind;
  statement: string;
  /** Names the statement calls before any statement nested in it. */
  calls: string[];
  /** Sites of the same file that can print next (indices into PlanRecord.sites). */
  next: number[];
  /** Nested in a loop body of its function (what --loop-limit limits). */
  loop?: boolean;
  /** A spinlock held, interrupts or preemption off where it runs, and the call that did it. */
  context?: CrumbContext;
  heldBy?: string;
  /** The lock and wait calls of the statement's head. */
  sync?: ManifestSyncOp[];
}

export interface PlannedFunctionRecord {
  name: string;
  line: number;
  endLine: number;
  reason: string;
  /** Index of its first site in PlanRecord.sites, and how many it has. */
  firstSite: number;
  siteCount: number;
}

/** What the manifest records of one planned file (instrument's FilePlan without its edits). */
export interface PlanRecord {
  path: string;
  functions: PlannedFunctionRecord[];
  skipped: { name: string; line: number; reason: string }[];
  /** In source order: their position is their number within the file. */
  sites: SiteRecord[];
  /** The file's deferred-work bindings, whatever was selected. */
  deferred: Omit<ManifestDeferred, 'file'>[];
}

export interface FileHashes {
  originalSha256: string;
  instrumentedSha256: string;
}

export interface CrumbStats {
  /** Breadcrumbs inside loop bodies. */
  loop: number;
  /** Breadcrumbs that run with a spinlock held, interrupts or preemption off, by context. */
  context: Partial<Record<NonNullable<ManifestCrumb['context']>, number>>;
}

/** Text put aside and given back in order: where a streaming builder keeps its function list (it comes after the breadcrumbs). */
export interface TextSpool {
  write(text: string): void;
  replay(emit: (text: string) => void): void;
}

/** What a manifest says about the run itself. */
export type ManifestHeader = Pick<Manifest, 'tool' | 'tag' | 'createdAt' | 'level' | 'template' | 'templateStatement' | 'root' | 'loopLimit' | 'taskId'>;

/**
 * Builds a manifest file by file, in the order breadcrumbs were numbered. `isInstrumented` says which
 * called names are instrumented functions (only those are kept as `calls`). With `emit`, breadcrumbs are
 * not kept but handed out as JSON text as they come (serialize.ts), and with `spool` (only given with
 * `emit`) the function list waits in the spool, not in memory: memory stays flat on huge trees.
 */
export class ManifestBuilder {
  private readonly manifest: Manifest;
  private count = 0;
  private functionCount = 0;
  /** Counts kept as breadcrumbs go by (the manifest may not keep them: see `emit`). */
  readonly stats: CrumbStats = { loop: 0, context: {} };

  constructor(
    header: ManifestHeader,
    private readonly isInstrumented: (name: string) => boolean,
    private readonly emit?: (json: string) => void,
    private readonly spool?: TextSpool,
  ) {
    const { loopLimit, taskId, ...rest } = header;
    const fields = { ...rest, ...(loopLimit ? { loopLimit } : {}), ...(taskId ? { taskId } : {}) };
    this.manifest = { schema: MANIFEST_SCHEMA, version: MANIFEST_VERSION, ...fields, files: [], functions: [], skipped: [], crumbs: [] };
    emit?.(manifestHead(fields));
  }

  /** Records a whole file left alone (scheduler, timekeeping, printk or console code). */
  skipFile(path: string, reason: string): void {
    (this.manifest.skippedFiles ??= []).push({ path, reason });
  }

  /** The id the next file's first breadcrumb gets. */
  get nextId(): number {
    return this.count + 1;
  }

  /** Adds a planned file whose breadcrumbs were numbered from `firstId` (which must be nextId). */
  addFile(plan: PlanRecord, hashes: FileHashes, firstId: number): void {
    if (firstId !== this.nextId) throw new InternalError(`${plan.path}: numbered from ${firstId}, expected ${this.nextId}`);
    const file = this.manifest.files.length;
    this.manifest.files.push({ path: plan.path, originalSha256: hashes.originalSha256, instrumentedSha256: hashes.instrumentedSha256 });
    for (const fn of plan.functions) {
      const range: [number, number] | undefined = fn.siteCount > 0 ? [firstId + fn.firstSite, firstId + fn.firstSite + fn.siteCount - 1] : undefined;
      const entry = { name: fn.name, file, line: fn.line, endLine: fn.endLine, reason: fn.reason, ...(range ? { crumbs: range } : {}) };
      if (this.spool) this.spool.write(functionLine(entry, this.functionCount === 0));
      else this.manifest.functions.push(entry);
      this.functionCount++;
    }
    for (const skip of plan.skipped) this.manifest.skipped.push({ ...skip, file });
    for (const { line, ...binding } of plan.deferred) (this.manifest.deferred ??= []).push({ ...binding, file, line });
    for (const fn of plan.functions) {
      for (let i = fn.firstSite; i < fn.firstSite + fn.siteCount; i++) {
        const site = plan.sites[i];
        const calls = [...new Set(site.calls.filter(this.isInstrumented))];
        this.add({
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
          ...(site.sync ? { sync: site.sync } : {}),
        });
      }
    }
  }

  private add(crumb: ManifestCrumb): void {
    if (this.emit) this.emit(crumbLine(crumb, this.count === 0));
    else this.manifest.crumbs.push(crumb);
    this.count++;
    if (crumb.loop) this.stats.loop++;
    if (crumb.context) this.stats.context[crumb.context] = (this.stats.context[crumb.context] ?? 0) + 1;
  }

  /** The manifest (without its breadcrumbs when they were emitted; then emits the rest of the JSON). */
  finish(): Manifest {
    if (this.emit && this.spool) {
      this.emit(tailBeforeFunctions(this.manifest));
      if (this.functionCount === 0) this.emit(EMPTY_LIST);
      else {
        this.spool.replay(this.emit);
        this.emit(STREAMED_LIST_END);
      }
      this.emit(tailAfterFunctions(this.manifest));
    } else this.emit?.(manifestTail(this.manifest));
    return this.manifest;
  }
}
