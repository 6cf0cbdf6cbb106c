/**
 * Locks on the trails: which statements take or drop a lock, and which locks each CPU (or task) still
 * holds when the log ends. Read from the lock operations the manifest recorded for each breadcrumb's
 * statement (with the struct type a lock lives in, where the function declares it), against the
 * vocabulary of kernel locks (vocabulary/sync.ts).
 *
 * A breadcrumb prints before its statement, so a statement is done once its thread printed another
 * breadcrumb after it. The last breadcrumb of a thread is the statement it was in when the log ended: if
 * that statement takes a lock, the thread is waiting for it (root.ts decides what that means).
 *
 * Driver wrappers (`dm_bufio_lock(c)`, `task_lock(p)`, `lock_page(p)`): an instrumented wrapper shows
 * its own spin_lock/mutex_lock statements on the trail, so it needs nothing special. A wrapper without
 * breadcrumbs has no body in the manifest, so it is known by its name alone (vocabulary's lockWrapper):
 * `x_lock*(a)` takes and `x_unlock*(a)` drops "x_lock of a", likewise `lock_x(a)` / `unlock_x(a)`.
 */
import type { Manifest, ManifestCrumb, ManifestSyncOp } from '../manifest/schema.js';
import { LOCK_FAMILIES, lockWrapper, syncCall, type LockAccess } from '../vocabulary/sync.js';
import type { Sighting } from './threads.js';

export type LockMode = LockAccess;

/** One lock operation of a statement. */
export interface LockSite {
  /** acquire waits until it has the lock; try never waits (and may not get it); release drops it. */
  kind: 'acquire' | 'try' | 'release';
  /** The call: `spin_lock_irqsave`, `dm_bufio_lock`. */
  primitive: string;
  /** The lock as written, normalised: `rc->lock` for `&rc->lock`; `dm_bufio_lock(c)` for a wrapper. */
  name: string;
  mode: LockMode;
  /** The identifier the lock expression starts from (`rc`), when it starts from one. */
  base?: string;
  /** The rest of the expression after `base` (`->lock`); for a wrapper `dm_bufio_lock(...)` plus it. */
  path: string;
  /** The struct `base` points to, from its declaration in the function's source (`struct remap_c`). */
  type?: string;
  /** The function whose statement this is. */
  function: string;
  /** Known only by its name (a wrapper without breadcrumbs). */
  wrapper?: boolean;
  /** A `_nested` call: lockdep's sign that a second lock of the same class is meant. */
  nested?: boolean;
}

/** How two lock expressions were found to be the same lock, most certain first. */
export type LockMatch = 'same-function' | 'same-expression' | 'same-type' | 'same-member';

const MATCH_RANK: Record<LockMatch, number> = { 'same-function': 4, 'same-expression': 3, 'same-type': 2, 'same-member': 1 };

export function matchRank(match: LockMatch): number {
  return MATCH_RANK[match];
}

/** In words, for the report: how sure the identity of the two locks is. */
export function describeMatch(match: LockMatch, a: LockSite): string {
  switch (match) {
    case 'same-function':
      return 'the same expression in the same function';
    case 'same-expression':
      return 'the same expression in another function: most likely the same lock, passed down';
    case 'same-type':
      return `the same member of the same type (${a.type}${a.path}), not proven to be the same object`;
    case 'same-member':
      return `only the member path ${a.path} is the same (types unknown): a guess`;
  }
}

/** A breadcrumb's lock operations, from what the manifest recorded of its statement (a wait is not a lock operation). */
export function lockSitesOf(ops: readonly ManifestSyncOp[], fn: string, instrumented: ReadonlySet<string>): LockSite[] {
  const sites: LockSite[] = [];
  for (const op of ops) {
    if (op.object === undefined || (op.operation !== 'acquire' && op.operation !== 'try' && op.operation !== 'release')) continue;
    const entry = syncCall(op.call);
    const wrapper = entry ? undefined : lockWrapper(op.call);
    if (entry ? !LOCK_FAMILIES.has(entry.family) : !wrapper || instrumented.has(op.call)) continue;
    const split = /^([A-Za-z_]\w*)(.*)$/.exec(op.object);
    const site: LockSite = { kind: op.operation, primitive: op.call, name: op.object, mode: entry?.access ?? 'exclusive', path: split ? split[2] : op.object, function: fn };
    if (split) site.base = split[1];
    if (op.type) site.type = op.type;
    if (wrapper) {
      site.name = `${wrapper.lock}(${op.object})`;
      site.path = `${wrapper.lock}(${site.path})`;
      site.wrapper = true;
    }
    if (entry && (entry.variants.includes('nested') || entry.variants.includes('nest_lock'))) site.nested = true;
    sites.push(site);
  }
  return sites;
}

/**
 * Are `a` and `b` the same lock, and how sure is that? Different struct types, different member paths
 * or different wrappers are different locks. The same text in the same function is as sure as text gets
 * (a variable could still be reassigned); in another function it is the usual pointer passed down.
 */
export function matchLocks(a: LockSite, b: LockSite): LockMatch | undefined {
  if (a.type && b.type && a.type !== b.type) return undefined;
  if (a.name === b.name) return a.function === b.function ? 'same-function' : 'same-expression';
  if (a.base === undefined || b.base === undefined || a.path === '' || a.path !== b.path) return undefined;
  return a.type && b.type ? 'same-type' : 'same-member';
}

/** Two holders of these modes cannot share the lock (readers share, anything else excludes). */
export function conflicts(a: LockMode, b: LockMode): boolean {
  return a === 'exclusive' || b === 'exclusive';
}

/** Lock sites of every breadcrumb, made once per manifest entry from what the manifest recorded. */
export class LockCatalog {
  private readonly sites: (LockSite[] | undefined)[][];
  private readonly instrumented: Set<string>;

  constructor(manifests: readonly Manifest[]) {
    this.sites = manifests.map(() => []);
    this.instrumented = new Set(manifests.flatMap((m) => m.functions.filter((fn) => fn.crumbs).map((fn) => fn.name)));
  }

  sitesOf(manifest: number, crumb: ManifestCrumb): readonly LockSite[] {
    let sites = this.sites[manifest][crumb.id - 1];
    if (!sites) {
      sites = crumb.sync ? lockSitesOf(crumb.sync, crumb.function, this.instrumented) : [];
      this.sites[manifest][crumb.id - 1] = sites;
    }
    return sites;
  }
}

/** A lock a thread took and had not dropped by its last breadcrumb. */
export interface HeldLock {
  site: LockSite;
  /** The breadcrumb of the statement that took it. */
  at: Sighting;
  /** Taken by a trylock: held only if that succeeded. */
  maybe: boolean;
}

/**
 * Per thread, the locks still held; fed every breadcrumb in log order. A trail is read turn by turn: a
 * lock cannot be taken twice, so an acquire that completed while the trail still showed the lock held
 * proves it was released in between (in code without breadcrumbs, at a level that does not show every
 * statement), and so does every later turn that comes back to that acquire the same way.
 */
export class LockTracker {
  private readonly threads = new Map<string, TrailLocks>();

  constructor(readonly catalog: LockCatalog) {}

  observe(sighting: Sighting): void {
    let state = this.threads.get(sighting.thread);
    if (!state) {
      state = { held: [], releasedBefore: new Set() };
      this.threads.set(sighting.thread, state);
    }
    // the previous breadcrumb's statement is done: this thread went on past it
    if (state.pending) applyLockSites(state, this.catalog.sitesOf(state.pending.manifest, state.pending.crumb), state.pending);
    state.pending = sighting;
  }

  /**
   * Locks taken by statements the thread finished and not dropped since, oldest first; without those an
   * earlier turn proved released before the thread came back to where it is now.
   */
  held(thread: string): readonly HeldLock[] {
    const state = this.threads.get(thread);
    if (!state) return [];
    const now = state.pending && crumbKey(state.pending);
    return now === undefined ? state.held : state.held.filter((h) => !state.releasedBefore.has(`${crumbKey(h.at)}>${now}`));
  }
}

/** What one trail holds, and which (taken at, came back to) pairs of breadcrumbs an earlier turn showed released. */
export interface TrailLocks {
  held: HeldLock[];
  releasedBefore: Set<string>;
  pending?: Sighting;
}

function crumbKey(s: Sighting): string {
  return `${s.manifest}:${s.crumb.id}`;
}

/** Applies one finished statement's lock operations to a trail's locks (shared with the task paths of waits.ts). */
export function applyLockSites(state: TrailLocks, sites: readonly LockSite[], sighting: Sighting): void {
  const held = state.held;
  for (const site of sites) {
    if (site.kind === 'release') {
      const i = bestHeld(held, site);
      if (i >= 0) held.splice(i, 1);
      continue;
    }
    if (site.kind === 'acquire' && site.mode === 'exclusive' && !site.nested) {
      // it got the lock: a hold of the same lock on this trail had been released, unseen
      for (let i = held.length - 1; i >= 0; i--) {
        const match = matchLocks(site, held[i].site);
        if (!match || matchRank(match) < matchRank('same-expression')) continue;
        state.releasedBefore.add(`${crumbKey(held[i].at)}>${crumbKey(sighting)}`);
        held.splice(i, 1);
      }
    }
    held.push({ site, at: sighting, maybe: site.kind === 'try' });
    if (held.length > MAX_HELD) held.shift(); // a lock never seen dropped (released in code without breadcrumbs)
  }
}

const MAX_HELD = 32;

/** The held lock a release drops: the best match, the most recent among equals. */
function bestHeld(held: readonly HeldLock[], release: LockSite): number {
  let best = -1;
  let rank = 0;
  for (let i = held.length - 1; i >= 0; i--) {
    const match = matchLocks(release, held[i].site);
    if (match && matchRank(match) > rank) {
      best = i;
      rank = matchRank(match);
    }
  }
  return best;
}
