/**
 * The root of a multi-CPU freeze. One CPU takes a lock with interrupts off and never lets go (or takes it
 * again); the others pile up behind it, and the log's last breadcrumb is often a victim's. In order:
 * - self-deadlock: a thread's last statement takes a lock its own trail holds;
 * - abba: threads wait for each other's locks in a cycle;
 * - holds-lock-waited-by: threads wait for a lock whose holder is stuck elsewhere (the end of the chain);
 * - stopped-first: no lock links them: of the threads that stopped inside a function, the one that
 *   stopped first while others went on (among the CPUs the kernel reported stuck, when it did);
 * - unknown: the evidence is not enough; the root then names the last breadcrumb and says why.
 * Sleeping hangs (waits.ts) and livelocks (livelock.ts) have roots of their own, set by locate.ts:
 * - waits-unsignalled: a task sleeps in a wait (completion, wait queue, work item, kthread, RCU, a sleep
 *   loop) that no trail signals after it began, and the other sleepers' chains end there;
 * - stopped-waited-for: sleepers wait for a task (a work item's handler, a kthread, a would-be signaller)
 *   stopped at a statement kcrumb knows no wait in: asleep in code without breadcrumbs;
 * - deadlock: sleeping waits in a cycle (a work item flushing itself, a mutex held across a flush of work
 *   that takes it);
 * - livelock: the answer's thread was still going round a cycle: no lock and no line is the root.
 */
import { reachesByCalls } from '../manifest/successors.js';
import type { Manifest } from '../manifest/schema.js';
import { conflicts, describeMatch, matchLocks, matchRank, type HeldLock, type LockMatch, type LockSite, type LockTracker } from './locks.js';
import { topInstrumentedFrame } from '../reports/frame.js';
import type { KernelReport } from '../reports/parse.js';
import { lastOf, type Sighting, type Thread } from './threads.js';
import type { WaitRoot } from './waits.js';

export type RootReason = 'self-deadlock' | 'holds-lock-waited-by' | 'abba' | 'stopped-first' | 'unknown' | 'waits-unsignalled' | 'deadlock' | 'stopped-waited-for' | 'livelock';

export interface LockHolder {
  thread: string;
  cpu: number;
  /** The lock as its holder took it, and where. */
  held: HeldLock;
  match: LockMatch;
}

/** A thread whose last statement takes a lock, and who holds that lock by the trails. */
export interface LockWait {
  thread: string;
  cpu: number;
  at: Sighting;
  site: LockSite;
  /** Best match first; the waiting thread itself when it holds the lock already. */
  holders: LockHolder[];
}

export interface Root {
  reason: RootReason;
  thread: string;
  cpu: number;
  /** The root's breadcrumb: where the thread at the root of the freeze was last seen. */
  at: Sighting;
  /** One sentence: why this thread and this line. */
  why: string;
  /** How much to trust it: the lock identity's match and the kernel's reports. */
  confidence: 'high' | 'medium' | 'low';
  /** The lock at the root: held by the root thread (taken at `held.at`), waited for by others. */
  lock?: { site: LockSite; held?: HeldLock; match?: LockMatch };
  /** abba, deadlock: the threads of the cycle, the root first. */
  cycle?: string[];
  /** A sleeping hang: what the root task waits for, and the chain of waits from the first waiter to it. */
  sleep?: WaitRoot;
  /** What the kernel's lockup reports say about it. */
  checks: string[];
}

export interface RootInput {
  threads: readonly Thread[];
  locks: LockTracker;
  reports: readonly KernelReport[];
  /** The last breadcrumb printed (the fallback). */
  last: Sighting;
  manifests: readonly Manifest[];
  instrumented: ReadonlySet<string>;
}

/** Reports that name stuck CPUs (an NMI backtrace alone names only whose stack it is). */
const STUCK_KINDS = new Set(['soft-lockup', 'hard-lockup', 'rcu-stall']);
/** A backtrace frame (or RIP) of a CPU waiting for a lock. */
const LOCK_FRAME = /spin_lock|queued_spin|queued_(?:read|write)_lock|_raw_(?:read|write)_lock|mutex_lock|rwsem_down|^__down|^down|rt_mutex/;
const LEFT = new Set(['return', 'exit']);

export function findRoot(input: RootInput): { root: Root; waits: LockWait[] } {
  const waits = lockWaits(input);
  const root = selfDeadlock(waits) ?? cycleRoot(waits) ?? heldRoot(waits, input) ?? noLockRoot(waits, input);
  root.checks.push(...crossCheck(root, waits, input));
  if (root.checks.some((check) => check.includes('disagrees')) && root.confidence === 'high') root.confidence = 'medium';
  return { root, waits };
}

/** Threads whose last statement takes a lock (not a trylock: it never waits), with the holders the trails show. */
function lockWaits({ threads, locks }: RootInput): LockWait[] {
  const waits: LockWait[] = [];
  for (const thread of threads) {
    const at = lastOf(thread);
    const sites = locks.catalog.sitesOf(at.manifest, at.crumb).filter((site) => site.kind === 'acquire');
    const site = sites[sites.length - 1];
    if (!site) continue;
    const holders: LockHolder[] = [];
    for (const other of threads) {
      const held = bestHolding(locks.held(other.key), site, other.key === thread.key);
      if (held) holders.push({ thread: other.key, cpu: lastOf(other).cpu, held: held.held, match: held.match });
    }
    holders.sort((a, b) => matchRank(b.match) - matchRank(a.match) || Number(b.thread === thread.key) - Number(a.thread === thread.key));
    waits.push({ thread: thread.key, cpu: at.cpu, at, site, holders });
  }
  return waits;
}

function bestHolding(held: readonly HeldLock[], wanted: LockSite, self: boolean): { held: HeldLock; match: LockMatch } | undefined {
  let best: { held: HeldLock; match: LockMatch } | undefined;
  for (const h of held) {
    const match = matchLocks(wanted, h.site);
    if (!match || !conflicts(wanted.mode, h.site.mode)) continue;
    // `_nested` says "another lock of this class": only the very same expression is the same lock then
    if (self && wanted.nested && matchRank(match) < matchRank('same-expression')) continue;
    if (!best || matchRank(match) >= matchRank(best.match)) best = { held: h, match };
  }
  return best;
}

function confidenceOf(match: LockMatch, maybe: boolean): Root['confidence'] {
  const rank = matchRank(match) - (maybe ? 1 : 0);
  return rank >= 3 ? 'high' : rank === 2 ? 'medium' : 'low';
}

function selfDeadlock(waits: LockWait[]): Root | undefined {
  const wait = waits.filter((w) => w.holders[0]?.thread === w.thread).sort((a, b) => order(a.at, b.at))[0];
  if (!wait) return undefined;
  const { held, match } = wait.holders[0];
  const others = waits.filter((w) => w !== wait && w.holders.some((h) => h.thread === wait.thread)).map((w) => w.thread);
  return {
    reason: 'self-deadlock',
    thread: wait.thread,
    cpu: wait.cpu,
    at: wait.at,
    why:
      `${who(wait.thread)} takes ${wait.site.name} (${wait.site.primitive}) while holding it since #${held.at.crumb.id} in ${held.at.crumb.function}() ` +
      `(${describeMatch(match, wait.site)})${others.length ? `; ${others.map(who).join(', ')} wait for it too` : ''}`,
    confidence: confidenceOf(match, held.maybe),
    lock: { site: wait.site, held, match },
    checks: [],
  };
}

/** Edges waiter -> holder between different threads, best holder first. */
function edges(waits: LockWait[]): Map<string, LockWait> {
  const byThread = new Map<string, LockWait>();
  for (const wait of waits) if (wait.holders.some((h) => h.thread !== wait.thread)) byThread.set(wait.thread, wait);
  return byThread;
}

function firstHolder(wait: LockWait): LockHolder {
  return wait.holders.find((h) => h.thread !== wait.thread)!;
}

function cycleRoot(waits: LockWait[]): Root | undefined {
  const graph = edges(waits);
  for (const start of graph.keys()) {
    const path: string[] = [];
    for (let at: string | undefined = start; at !== undefined && graph.has(at); at = firstHolder(graph.get(at)!).thread) {
      const seen = path.indexOf(at);
      if (seen >= 0) {
        const cycle = path.slice(seen).map((key) => graph.get(key)!);
        // the cycle has no first mover in the locks alone: name the thread that stopped first
        const root = [...cycle].sort((a, b) => order(a.at, b.at))[0];
        const turn = [...cycle.slice(cycle.indexOf(root)), ...cycle.slice(0, cycle.indexOf(root))];
        const held = firstHolder(turn[turn.length - 1]);
        const weakest = turn.map((w) => firstHolder(w)).reduce((a, b) => (matchRank(a.match) <= matchRank(b.match) ? a : b));
        return {
          reason: 'abba',
          thread: root.thread,
          cpu: root.cpu,
          at: root.at,
          why:
            turn.map((w) => `${who(w.thread)} holds ${firstHolder(turn[(turn.indexOf(w) + turn.length - 1) % turn.length]).held.site.name} and waits for ${w.site.name}`).join('; ') +
            `: a lock order cycle (${who(root.thread)} stopped first)`,
          confidence: confidenceOf(weakest.match, weakest.held.maybe),
          lock: { site: root.site, held: held.held, match: held.match },
          cycle: turn.map((w) => w.thread),
          checks: [],
        };
      }
      path.push(at);
    }
  }
  return undefined;
}

function heldRoot(waits: LockWait[], input: RootInput): Root | undefined {
  const graph = edges(waits);
  if (graph.size === 0) return undefined;
  // follow each waiter to the end of its chain: a holder that waits for nothing another trail holds
  const ends = new Map<string, { waiters: LockWait[]; holder: LockHolder }>();
  for (const wait of graph.values()) {
    let holder = firstHolder(wait);
    while (graph.has(holder.thread)) holder = firstHolder(graph.get(holder.thread)!);
    const end = ends.get(holder.thread) ?? { waiters: [], holder };
    end.waiters.push(wait);
    ends.set(holder.thread, end);
  }
  const [key, end] = [...ends].sort((a, b) => b[1].waiters.length - a[1].waiters.length)[0];
  end.waiters.sort((a, b) => order(a.at, b.at));
  const thread = input.threads.find((t) => t.key === key)!;
  const at = lastOf(thread);
  const direct = end.waiters.find((w) => firstHolder(w).thread === key) ?? end.waiters[0];
  const { held, match } = end.holder;
  const ownWait = waits.find((w) => w.thread === key);
  const where = ownWait
    ? `its own last statement waits for ${ownWait.site.name}, which no trail shows held`
    : `its last breadcrumb is #${at.crumb.id} in ${at.crumb.function}()`;
  const also = ends.size > 1 ? `; other chains end at ${[...ends.keys()].filter((k) => k !== key).map(who).join(', ')}` : '';
  return {
    reason: 'holds-lock-waited-by',
    thread: key,
    cpu: at.cpu,
    at,
    why:
      `${who(key)} holds ${held.site.name} since #${held.at.crumb.id} in ${held.at.crumb.function}() and went no further (${where}); ` +
      `${end.waiters.map((w) => who(w.thread)).join(', ')} wait${end.waiters.length === 1 ? 's' : ''} for it (${describeMatch(match, direct.site)})${also}`,
    confidence: ends.size > 1 ? 'low' : confidenceOf(match, held.maybe),
    lock: { site: held.site, held, match },
    checks: [],
  };
}

/** No lock links the threads: the one that stopped inside a function first, or unknown. */
function noLockRoot(waits: LockWait[], input: RootInput): Root {
  const { threads, reports, last } = input;
  const stuck = new Set(reports.filter((r) => STUCK_KINDS.has(r.kind)).flatMap((r) => r.cpus));
  let inside = threads.filter((t) => !LEFT.has(lastOf(t).crumb.kind));
  const reported = inside.filter((t) => stuck.has(lastOf(t).cpu));
  if (reported.length > 0) inside = reported;
  // a waiter with no holder on any trail is a victim of something unseen; prefer a thread that is not one
  const waiting = new Set(waits.map((w) => w.thread));
  const free = inside.filter((t) => !waiting.has(t.key));
  const orphan = waits.length > 0 ? `; ${waits.map((w) => `${who(w.thread)} waits for ${w.site.name}, which no trail shows held`).join('; ')}` : '';
  const unknown = (at: Sighting, why: string): Root => ({ reason: 'unknown', thread: at.thread, cpu: at.cpu, at, why, confidence: 'low', checks: [] });

  if (threads.length < 2) {
    return unknown(last, `only ${who(last.thread)} printed breadcrumbs, and no lock links it to another CPU: its last breadcrumb is all there is${orphan}`);
  }
  if (free.length === 0) {
    if (inside.length > 0) {
      const first = [...inside].sort((a, b) => order(lastOf(a), lastOf(b)))[0];
      return unknown(lastOf(first), `not enough evidence${orphan} (taken in code without breadcrumbs, or before the log starts)`);
    }
    return unknown(last, `every CPU's last breadcrumb leaves its function: the freeze is in code without breadcrumbs${orphan}`);
  }
  const sorted = [...free].sort((a, b) => order(lastOf(a), lastOf(b)));
  const first = sorted[0];
  const at = lastOf(first);
  const after = threads.filter((t) => t !== first && order(lastOf(t), at) > 0);
  const wentOn = after.length
    ? `${after.map((t) => who(t.key)).join(', ')} printed on after it`
    : `the last breadcrumb of ${threads.filter((t) => t !== first).map((t) => who(t.key)).join(', ')} leaves its function`;
  const why =
    `${who(first.key)} stopped inside ${at.crumb.function}() at #${at.crumb.id}; ${wentOn}` +
    (sorted.length > 1 ? `; ${sorted.slice(1).map((t) => who(t.key)).join(', ')} stopped inside a function later` : '') +
    (reported.length > 0 ? '; the kernel reported it stuck' : '') +
    orphan;
  return {
    reason: 'stopped-first',
    thread: first.key,
    cpu: at.cpu,
    at,
    why,
    confidence: reported.length > 0 && sorted.length === 1 ? 'high' : sorted.length === 1 ? 'medium' : 'low',
    checks: [],
  };
}

/** What the kernel's reports say about the root's CPU and about each waiter's. */
function crossCheck(root: Root, waits: LockWait[], input: RootInput): string[] {
  const checks: string[] = [];
  const manifest = input.manifests[root.at.manifest];
  for (const report of input.reports) {
    if (!report.cpus.includes(root.cpu)) continue;
    const frame = topInstrumentedFrame(report.frames, input.instrumented);
    const what = `${report.kind} for CPU ${root.cpu}`;
    if (!frame) continue;
    const fn = root.at.crumb.function;
    if (frame.function === fn) checks.push(`${what}: its backtrace is in ${fn}(): agrees with the root`);
    else if (reachesByCalls(manifest, frame.function, fn)) checks.push(`${what}: its backtrace is in ${frame.function}(), which calls ${fn}() (inlined): agrees with the root`);
    else checks.push(`${what}: its backtrace is in ${frame.function}(), the root's breadcrumb in ${fn}(): disagrees`);
  }
  for (const wait of waits) {
    for (const report of input.reports) {
      if (!report.cpus.includes(wait.cpu) || report.kind !== 'nmi-backtrace') continue;
      const spinning = report.frames.slice(0, 4).find((f) => LOCK_FRAME.test(f.function));
      if (spinning) checks.push(`NMI backtrace for CPU ${wait.cpu}: in ${spinning.function}(): it waits for a lock, as its last breadcrumb (${wait.site.primitive}) says`);
    }
  }
  return [...new Set(checks)];
}

/** Earlier first: by the clock when both lines have one, else by place in the log. */
function order(a: Sighting, b: Sighting): number {
  if (a.time !== undefined && b.time !== undefined && a.time !== b.time) return a.time - b.time;
  return a.offset - b.offset;
}

function who(thread: string): string {
  const m = /^CPU(\d+)$/.exec(thread);
  if (m) return `CPU ${m[1]}`;
  if (/^T\d/.test(thread)) return `task ${thread.slice(1)}`;
  return thread;
}
