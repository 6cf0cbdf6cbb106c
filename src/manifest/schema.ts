/**
 * The manifest: what one `kcrumb instrument` run inserted, so a log line `kq7x#87@1` can be turned back
 * into file:line:column, function and statement. Written as JSON; bump MANIFEST_VERSION on any change
 * that an older reader would misread.
 */

import type { DeferredKind } from '../vocabulary/hooks.js';
import type { CrumbContext, SyncOperation } from '../vocabulary/sync.js';

export const MANIFEST_SCHEMA = 'kcrumb-manifest';
export const MANIFEST_VERSION = 3;
/** The oldest version whose files and functions still mean what they mean now (what strip needs). */
export const OLDEST_READABLE_VERSION = 1;
/** The oldest version locate-freeze reasons over (version 2 lacks `deferred`: parse.ts reads it from the reasons). */
export const OLDEST_LOCATABLE_VERSION = 2;

export type Level = 'functions' | 'branches' | 'every-line';

/**
 * Where a breadcrumb sits:
 * entry (first statement of a function), exit (falls off the end of a void function),
 * return (before a return), branch (first statement of an if/else arm), loop (first statement of a loop
 * body), case (first statement after a case/default label), label (first statement after a goto label),
 * statement (any other statement, every-line only).
 */
export type CrumbKind = 'entry' | 'exit' | 'return' | 'branch' | 'loop' | 'case' | 'label' | 'statement';

/**
 * What the CPU holds where a breadcrumb runs, read from the same function: a spinlock or rwlock, interrupts
 * off (spin_lock_irqsave, local_irq_save), or preemption or softirqs off. A breadcrumb there slows a
 * critical section (7 ms per line at 115200 baud) and can trip the lockup detector by itself.
 */
export type { CrumbContext };

/**
 * One lock or wait call of a breadcrumb's statement, read from the syntax tree at instrument time
 * (vocabulary/sync.ts says what each call does): `spin_lock_irqsave(&rc->lock, flags)` is
 * `{ call: 'spin_lock_irqsave', operation: 'acquire', object: 'rc->lock', type: 'struct remap_c' }`.
 */
export interface ManifestSyncOp {
  /** The function called: a table entry, or a driver's lock wrapper known by its name (`dm_bufio_lock`). */
  call: string;
  operation: SyncOperation;
  /** The object's expression, normalised (`rc->lock` for `&rc->lock`); absent for msleep(), local_irq_save(). */
  object?: string;
  /** The struct the expression starts from, when the function declares it (`struct remap_c *rc`). */
  type?: string;
}

export interface ManifestFile {
  /** Path as given on the command line, relative to `root` when inside it. */
  path: string;
  /** sha256 of the file before instrumenting (hex). */
  originalSha256: string;
  /** sha256 of the file as kcrumb wrote it (hex). */
  instrumentedSha256: string;
}

export interface ManifestFunction {
  name: string;
  /** Index into `files`. */
  file: number;
  /** 1-based line of the function's name. */
  line: number;
  /** 1-based line of the closing brace. */
  endLine: number;
  /** Why it was selected: `dm_remap_target.map = remap_map -> remap_find` or `--functions 'remap_*'`. */
  reason: string;
  /** First and last breadcrumb number in this function (inclusive); absent when it got none. */
  crumbs?: [number, number];
}

export interface ManifestCrumb {
  /** The number printed in the log; crumbs[id - 1] is this entry. */
  id: number;
  /** Index into `files`. */
  file: number;
  /** 1-based line of the statement the breadcrumb precedes (the line is the same in both texts). */
  line: number;
  /** 1-based column as gcc prints it (tabs advance to the next multiple of 8). */
  column: number;
  function: string;
  kind: CrumbKind;
  /** The statement's source text, first line, whitespace folded. */
  statement: string;
  /**
   * Breadcrumbs of the same function that can print next without another breadcrumb in between (a
   * static over-approximation: the following statement, each branch arm, the loop head, a goto's label).
   */
  next: number[];
  /** Instrumented functions the statement calls first: their entry breadcrumbs can print next too. */
  calls?: string[];
  /** Inside a loop body (for, while, do, an iterator macro): with `loopLimit` it prints that often at most. */
  loop?: true;
  /** Runs with a spinlock held, interrupts or preemption off (see CrumbContext). */
  context?: CrumbContext;
  /** The innermost call that made `context`: `spin_lock_irqsave(&rc->lock, flags)`. */
  heldBy?: string;
  /** The statement's lock and wait calls, in order (in its head only: an if's condition, a loop's). */
  sync?: ManifestSyncOp[];
}

/**
 * A handler bound to a work item, timer, tasklet or kernel thread in an instrumented file, read from the
 * syntax tree whatever was selected: `INIT_WORK(&rc->sync_work, remap_sync_work)` is
 * `{ call: 'INIT_WORK', runs: 'work', member: 'sync_work', handler: 'remap_sync_work', file: 0, line: 120 }`.
 * A `flush_work(&x->sync_work)` waits for the handlers of member `sync_work`; kthread_stop for a thread's.
 */
export interface ManifestDeferred {
  /** INIT_WORK, INIT_DELAYED_WORK, timer_setup, tasklet_setup, kthread_run, DECLARE_WORK, `.function` (an hrtimer's). */
  call: string;
  runs: DeferredKind;
  /** The member the work, timer or thread is known by (`&rc->sync_work` -> `sync_work`); absent for a thread started unnamed. */
  member?: string;
  handler: string;
  /** Index into `files`. */
  file: number;
  line: number;
}

/** A file given to instrument that kcrumb never instruments (scheduler, timekeeping, printk, console). */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface SkippedFunction {
  name: string;
  file: number;
  line: number;
  reason: string;
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  /** MANIFEST_VERSION when written; an older one only where the reader allowed it (parseManifest). */
  version: number;
  /** kcrumb's version that wrote it. */
  tool: string;
  /** The run tag printed in every breadcrumb. */
  tag: string;
  createdAt: string;
  level: Level;
  /** Template name or path used for the breadcrumb statement. */
  template: string;
  /** The template's statement as used, so strip knows the breadcrumbs of a template file gone since. */
  templateStatement?: string;
  /**
   * The directory file paths are relative to: on disk relative to the manifest's own folder (older
   * manifests: absolute), so a copied tree's manifest names the copy; manifest-store makes it absolute on read.
   */
  root: string;
  /** --loop-limit: each breadcrumb with `loop` prints only on its first loopLimit passes. */
  loopLimit?: number;
  /** --task-id: breadcrumbs print the task's pid after the CPU (`kq7x#87@1.233`). */
  taskId?: true;
  files: ManifestFile[];
  functions: ManifestFunction[];
  skipped: SkippedFunction[];
  /** Whole files left alone because of where they are in the kernel tree. */
  skippedFiles?: SkippedFile[];
  crumbs: ManifestCrumb[];
  /** Deferred-work bindings of the instrumented files (version 3 on). */
  deferred?: ManifestDeferred[];
}
