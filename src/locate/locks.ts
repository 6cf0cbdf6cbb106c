/**
 * Locks on the trails: which statements take or drop a lock, and which locks each CPU (or task) still
 * holds when the log ends. Read from the manifest's statement text, plus, when the edge can give it, the
 * source of the instrumented functions (to learn the struct type a lock lives in).
 *
 * A breadcrumb prints before its statement, so a statement is done once its thread printed another
 * breadcrumb after it. The last breadcrumb of a thread is the statement it was in when the log ended: if
 * that statement takes a lock, the thread is waiting for it (root.ts decides what that means).
 *
 * Driver wrappers (`dm_bufio_lock(c)`, `task_lock(p)`, `lock_page(p)`): an instrumented wrapper shows
 * its own spin_lock/mutex_lock statements on the trail, so it needs nothing special. A wrapper without
 * breadcrumbs has no body in the manifest, so it is known by its name alone: `x_lock*(a)` takes and
 * `x_unlock*(a)` drops "x_lock of a", likewise `lock_x(a)` / `unlock_x(a)`.
 */
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';
import type { Sighting } from './threads.js';

export type LockMode = 'exclusive' | 'shared';

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

const ACQUIRE: [RegExp, LockMode][] = [
  [/^(?:raw_)?spin_lock(?:_irq|_irqsave|_bh)?(?:_nested|_nest_lock)?$/, 'exclusive'],
  [/^read_lock(?:_irq|_irqsave|_bh)?$/, 'shared'],
  [/^write_lock(?:_irq|_irqsave|_bh|_nested)?$/, 'exclusive'],
  [/^mutex_lock(?:_interruptible|_killable|_io)?(?:_nested|_nest_lock)?$/, 'exclusive'],
  [/^down(?:_interruptible|_killable|_timeout)?$/, 'exclusive'],
  [/^(?:percpu_)?down_read(?:_interruptible|_killable|_nested)?$/, 'shared'],
  [/^(?:percpu_)?down_write(?:_killable|_nested|_nest_lock)?$/, 'exclusive'],
  [/^rt_mutex_lock(?:_interruptible|_killable|_nested)?$/, 'exclusive'],
];
const TRY: [RegExp, LockMode][] = [
  [/^(?:raw_)?spin_trylock(?:_irq|_irqsave|_bh)?$/, 'exclusive'],
  [/^(?:read_trylock|down_read_trylock)$/, 'shared'],
  [/^(?:write_trylock|mutex_trylock|down_trylock|down_write_trylock|rt_mutex_trylock)$/, 'exclusive'],
];
const RELEASE = /^(?:(?:raw_)?spin_unlock(?:_irq|_irqrestore|_bh)?|(?:read|write)_unlock(?:_irq|_irqrestore|_bh)?|mutex_unlock|rt_mutex_unlock|(?:percpu_)?up(?:_read|_write)?)$/;
/** `x_lock(a)`, `x_lock_irqsave(a, f)`, `x_unlock_bh(a)`: a driver's wrapper, "x_lock" of its first argument. */
const WRAPPER_SUFFIX = /^(\w+?)_(lock|unlock)(?:_irq|_irqsave|_irqrestore|_bh)?$/;
/** `lock_page(p)` / `unlock_page(p)`. */
const WRAPPER_PREFIX = /^(lock|unlock)_(\w+)$/;
/** Named like a lock and no lock anyone waits for (RCU readers never wait), or no lock operation at all. */
const NOT_A_LOCK = /^(?:s?rcu_read_|rcu_read_lock_|local_irq_|preempt_|lockdep_)|(?:init|held|assert|is_locked|owner|class|key|depth|timeout)$/;
const CALL = /([A-Za-z_]\w*)\s*\(/g;

/**
 * The lock operations of one statement, in order. `instrumented` are functions with breadcrumbs of their
 * own: a call to one of them is never read as a wrapper (its own lock statements are on the trail).
 */
export function parseLockSites(statement: string, fn: string, instrumented: ReadonlySet<string> = new Set()): LockSite[] {
  const sites: LockSite[] = [];
  for (const m of statement.matchAll(CALL)) {
    const callee = m[1];
    const before = statement.slice(0, m.index).trimEnd();
    if (before.endsWith('.') || before.endsWith('->')) continue; // an ops->lock() pointer: unknown target
    const kind = classify(callee, instrumented);
    if (!kind) continue;
    const args = callArguments(statement, m.index! + m[0].length);
    const lockArg = callee.startsWith('bit_spin_') ? args.slice(0, 2).join(',') : args[0];
    if (lockArg === undefined || lockArg === '') continue;
    const expr = normalizeLockExpression(lockArg);
    const split = /^([A-Za-z_]\w*)(.*)$/.exec(expr);
    const site: LockSite = { kind: kind.kind, primitive: callee, name: expr, mode: kind.mode, path: split ? split[2] : expr, function: fn };
    if (split) site.base = split[1];
    if (kind.wrapper !== undefined) {
      site.name = `${kind.wrapper}(${expr})`;
      site.path = `${kind.wrapper}(${site.path})`;
      site.wrapper = true;
    }
    if (/_nested$|_nest_lock$/.test(callee)) site.nested = true;
    sites.push(site);
  }
  return sites;
}

function classify(callee: string, instrumented: ReadonlySet<string>): { kind: LockSite['kind']; mode: LockMode; wrapper?: string } | undefined {
  for (const [pattern, mode] of ACQUIRE) if (pattern.test(callee)) return { kind: 'acquire', mode };
  for (const [pattern, mode] of TRY) if (pattern.test(callee)) return { kind: 'try', mode };
  if (RELEASE.test(callee)) return { kind: 'release', mode: 'exclusive' };
  if (instrumented.has(callee) || NOT_A_LOCK.test(callee)) return undefined;
  let m = WRAPPER_SUFFIX.exec(callee);
  if (m) return { kind: m[2] === 'lock' ? 'acquire' : 'release', mode: 'exclusive', wrapper: `${m[1]}_lock` };
  m = WRAPPER_PREFIX.exec(callee);
  if (m) return { kind: m[1] === 'lock' ? 'acquire' : 'release', mode: 'exclusive', wrapper: `lock_${m[2]}` };
  return undefined;
}

/** The top-level arguments of a call whose `(` ends right before `from`; a statement cut at its first line gives what there is. */
function callArguments(text: string, from: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const rest = text.slice(start).trim();
  if (rest) args.push(rest);
  return args;
}

/** `&rc->lock`, `&(rc->lock)`, `& rc -> lock`, `&(*rc).lock` and `&(rc)->lock` are all `rc->lock`. */
export function normalizeLockExpression(text: string): string {
  let s = text.replace(/\s+/g, '');
  for (;;) {
    if (s.startsWith('&')) s = s.slice(1);
    else if (s.startsWith('(') && closingParen(s, 0) === s.length - 1) s = s.slice(1, -1);
    else break;
  }
  return s.replace(/\(\*([A-Za-z_]\w*)\)\./g, '$1->').replace(/\(([A-Za-z_]\w*)\)(?=->|\.)/g, '$1');
}

function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
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

/** The source of a manifest's file, when the edge could read it (for types). */
export type SourceOf = (manifest: number, file: number) => string | undefined;

/** Lock sites of every breadcrumb's statement, parsed once per manifest entry. */
export class LockCatalog {
  private readonly sites: (LockSite[] | undefined)[][];
  private readonly instrumented: Set<string>;
  private readonly lines = new Map<string, string[] | undefined>();

  constructor(
    private readonly manifests: readonly Manifest[],
    private readonly sourceOf?: SourceOf,
  ) {
    this.sites = manifests.map(() => []);
    this.instrumented = new Set(manifests.flatMap((m) => m.functions.filter((fn) => fn.crumbs).map((fn) => fn.name)));
  }

  sitesOf(manifest: number, crumb: ManifestCrumb): readonly LockSite[] {
    let sites = this.sites[manifest][crumb.id - 1];
    if (!sites) {
      sites = parseLockSites(crumb.statement, crumb.function, this.instrumented);
      for (const site of sites) if (site.base) site.type = this.typeOf(manifest, crumb, site.base);
      this.sites[manifest][crumb.id - 1] = sites;
    }
    return sites;
  }

  /** `struct remap_c` when `base` is declared in the crumb's function as `struct remap_c *base` (or a parameter). */
  private typeOf(manifest: number, crumb: ManifestCrumb, base: string): string | undefined {
    const fn = this.manifests[manifest].functions.find((f) => f.name === crumb.function && f.file === crumb.file);
    const lines = this.sourceLines(manifest, crumb.file);
    if (!fn || !lines) return undefined;
    const body = lines.slice(fn.line - 1, fn.endLine).join('\n');
    const declared = new RegExp(`\\b((?:struct|union)\\s+[A-Za-z_]\\w*)(?:\\s*\\*[\\s*]*|\\s+)(?:const\\s+)?${base}\\b(?!\\s*\\()`, 'g');
    const types = new Set([...body.matchAll(declared)].map((m) => m[1].replace(/\s+/g, ' ')));
    return types.size === 1 ? [...types][0] : undefined; // two declarations of different types: do not pick one
  }

  private sourceLines(manifest: number, file: number): string[] | undefined {
    const key = `${manifest}:${file}`;
    if (!this.lines.has(key)) this.lines.set(key, this.sourceOf?.(manifest, file)?.split('\n'));
    return this.lines.get(key);
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

/** Per thread, the locks still held; fed every breadcrumb in log order. */
export class LockTracker {
  private readonly threads = new Map<string, { held: HeldLock[]; pending?: Sighting }>();

  constructor(readonly catalog: LockCatalog) {}

  observe(sighting: Sighting): void {
    let state = this.threads.get(sighting.thread);
    if (!state) {
      state = { held: [] };
      this.threads.set(sighting.thread, state);
    }
    // the previous breadcrumb's statement is done: this thread went on past it
    if (state.pending) this.apply(state.held, state.pending);
    state.pending = sighting;
  }

  /** Locks taken by statements the thread finished and not dropped since, oldest first. */
  held(thread: string): readonly HeldLock[] {
    return this.threads.get(thread)?.held ?? [];
  }

  private apply(held: HeldLock[], sighting: Sighting): void {
    for (const site of this.catalog.sitesOf(sighting.manifest, sighting.crumb)) {
      if (site.kind === 'release') {
        const i = bestHeld(held, site);
        if (i >= 0) held.splice(i, 1);
      } else {
        held.push({ site, at: sighting, maybe: site.kind === 'try' });
        if (held.length > MAX_HELD) held.shift(); // a lock never seen dropped (released in code without breadcrumbs)
      }
    }
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
