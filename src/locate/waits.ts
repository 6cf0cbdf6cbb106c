/**
 * Sleeping hangs: tasks asleep in D state, no CPU spinning. A task that sleeps leaves its CPU, so a CPU's
 * trail mixes tasks and its last breadcrumb may be a later task's; what tells a stopped task is a
 * statement that never completed: a breadcrumb none of whose possible successors (the manifest's `next`
 * edges and the entries of the functions it calls) printed afterwards, on any CPU.
 *
 * Each stopped statement is a task (named by its trail's pid when the log has one, by a hung-task report
 * whose backtrace is in its function, else by its CPU and breadcrumb). Its own path is walked back along
 * the same edges, so the locks it took are its own even when its CPU ran others since. What it waits for
 * comes from the statement's lock and wait calls; who holds it up:
 * - a mutex, rwsem or semaphore: the task whose path took it and did not drop it;
 * - a work item (flush_work, cancel_work_sync, ...): a task stopped in the handler registered for it
 *   (the manifest's deferred-work bindings, INIT_WORK and the like), a kthread the same way;
 * - a completion or wait queue: a signal on the same object (expression, else struct member) printed after
 *   the wait began ends it; else a task stopped in a function that would signal it before it did;
 * - synchronize_rcu and friends: a task inside an RCU read-side section; a sleep: nothing (a poll loop).
 * The chain of waits then ends at the root: a wait nothing signals, a lock holder that waits for nothing,
 * or a cycle (a deadlock).
 */
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';
import { reachesByCalls, successorsOf } from '../manifest/successors.js';
import { applyLockSites, conflicts, matchLocks, type HeldLock, type LockSite, type LockTracker, type TrailLocks } from './locks.js';
import { topInstrumentedFrame } from '../reports/frame.js';
import type { KernelReport } from '../reports/parse.js';
import type { Sighting, Thread } from './threads.js';

/** What a task can sleep on; the lock families are those whose holder is a task (not a spinning CPU). */
export type WaitKind = 'mutex' | 'rt_mutex' | 'rwsem' | 'semaphore' | 'completion' | 'work' | 'workqueue' | 'waitqueue' | 'rcu' | 'kthread' | 'sleep';

/** One lock or wait call of a statement, as the shared vocabulary names it. */
export interface SyncOp {
  call: string;
  operation: 'acquire' | 'try' | 'release' | 'wait' | 'signal';
  family: string;
  /** The object's expression, normalised (`rc->copy_done`); absent for msleep(), synchronize_rcu(). */
  object?: string;
}

/** The lock and wait calls of a breadcrumb's statement, in order. */
export type OpsOf = (manifest: number, crumb: ManifestCrumb) => readonly SyncOp[];

export const SLEEPING_LOCKS: ReadonlySet<string> = new Set<string>(['mutex', 'rt_mutex', 'rwsem', 'semaphore']);
const WAIT_KINDS = new Set<string>(['completion', 'work', 'workqueue', 'waitqueue', 'rcu', 'kthread', 'sleep']);
const LEFT = new Set(['return', 'exit']);
/** How far a task's own path is walked back from where it stopped. */
const PATH_LIMIT = 64;

export interface Task {
  /** `T<pid>` (caller id, --task-id or a hung-task report), `CPU<n>` for a CPU's last, `CPU<n>#<id>` hidden in a CPU's trail. */
  key: string;
  /** `kworker/1:1:29` from the hung-task report that names it. */
  name?: string;
  /** Where it stopped: a statement that never completed. */
  at: Sighting;
  /** Its own breadcrumbs up to `at`, oldest first, walked back along the manifest's edges. */
  path: Sighting[];
  /** Locks its path took and did not drop. */
  holds: HeldLock[];
  /** Inside an RCU read-side section on its path. */
  inRcu: boolean;
  report?: KernelReport;
}

export interface TaskWait {
  task: Task;
  kind: WaitKind;
  /** The call it sleeps in: `wait_for_completion`, `flush_work`, `mutex_lock`. */
  call: string;
  /** `rc->copy_done`; for a sleep or an RCU wait, none. */
  object?: string;
  /** The tasks that hold it up: the lock holder, the stopped handler, the would-be signaller. */
  holders: Task[];
  /** Work items and kthreads: the functions that must return for the wait to end. */
  handlers: string[];
  /** A signal on the same object (or the handler's end) printed after the wait began: it should have ended. */
  endedBy?: Sighting;
  /** The signal calls that would end it, where they are (for the report), none printed since the wait began. */
  signallers: { manifest: number; crumb: ManifestCrumb }[];
}

export type WaitRootReason = 'waits-unsignalled' | 'deadlock' | 'holds-lock-waited-by' | 'stopped-waited-for';

export interface WaitRoot {
  reason: WaitRootReason;
  task: Task;
  /** The root's own wait (absent for a holder stopped at a plain statement). */
  wait?: TaskWait;
  /** The waits from the first waiter to the root, in order (the root's own last). */
  chain: TaskWait[];
  /** deadlock: the waits of the cycle. */
  cycle?: TaskWait[];
  /** Every waiter whose chain ends here. */
  waiters: TaskWait[];
}

export interface WaitAnalysis {
  tasks: Task[];
  waits: TaskWait[];
  root?: WaitRoot;
}

export interface WaitInput {
  manifests: readonly Manifest[];
  lastSeen: readonly (readonly (Sighting | undefined)[])[];
  threads: readonly Thread[];
  reports: readonly KernelReport[];
  /** Per-thread locks over the whole boot: a task's own trail (caller ids, --task-id) is exact. */
  tracker: LockTracker;
  opsOf: OpsOf;
}

export function analyzeWaits(input: WaitInput): WaitAnalysis {
  const stopped = stoppedStatements(input);
  const tasks = stopped.map((at) => taskAt(at, input));
  nameByReports(tasks, input);
  const waits: TaskWait[] = [];
  for (const task of tasks) {
    const wait = waitOf(task, tasks, input);
    if (wait && !wait.endedBy) waits.push(wait);
  }
  return { tasks, waits, root: rootOf(waits) };
}

/** Breadcrumbs whose statement never completed: nothing that can follow it printed after its last sighting. */
export function stoppedStatements({ manifests, lastSeen }: Pick<WaitInput, 'manifests' | 'lastSeen'>): Sighting[] {
  const stopped: Sighting[] = [];
  manifests.forEach((manifest, m) => {
    for (const crumb of manifest.crumbs) {
      const seen = lastSeen[m][crumb.id - 1];
      if (!seen || LEFT.has(crumb.kind)) continue;
      const next = successorsOf(manifest, crumb);
      if (next.length === 0) continue; // the function goes on in code without breadcrumbs
      if (next.some((n) => (lastSeen[m][n.id - 1]?.offset ?? -1) > seen.offset)) continue;
      stopped.push(seen);
    }
  });
  return stopped.sort((a, b) => a.offset - b.offset);
}

function taskAt(at: Sighting, input: WaitInput): Task {
  const thread = input.threads.find((t) => t.key === at.thread);
  const isLast = thread !== undefined && thread.crumbs[thread.crumbs.length - 1] === at;
  const key = isLast ? at.thread : `${at.thread}#${at.crumb.id}`;
  // a task's own trail says it all; a CPU's trail mixes tasks, so the task's path is walked back instead
  const own = isLast && /^T\d/.test(at.thread);
  const path = own ? thread.crumbs : pathTo(at, input);
  const locks: TrailLocks = { held: [], releasedBefore: new Set() };
  let rcu = 0;
  for (const s of path.slice(0, -1)) {
    applyLockSites(locks, input.tracker.catalog.sitesOf(s.manifest, s.crumb), s);
    for (const op of input.opsOf(s.manifest, s.crumb)) {
      if (op.family !== 'rcu') continue;
      if (op.operation === 'acquire') rcu++;
      else if (op.operation === 'release') rcu = Math.max(0, rcu - 1);
    }
  }
  return { key, at, path, holds: own ? [...input.tracker.held(at.thread)] : locks.held, inRcu: rcu > 0 };
}

/** The task's own breadcrumbs before `at`: each step back the latest predecessor printed before it. */
function pathTo(at: Sighting, { manifests, lastSeen }: WaitInput): Sighting[] {
  const path = [at];
  const seenHere = lastSeen[at.manifest];
  const preds = predecessors(manifests[at.manifest], seenHere);
  const taken = new Set<number>([at.crumb.id]);
  for (let cur = at; path.length < PATH_LIMIT; ) {
    let best: Sighting | undefined;
    for (const id of preds.get(cur.crumb.id) ?? []) {
      const s = seenHere[id - 1];
      if (s && s.offset < cur.offset && !taken.has(id) && (!best || s.offset > best.offset)) best = s;
    }
    if (!best) break;
    taken.add(best.crumb.id);
    path.unshift(best);
    cur = best;
  }
  return path;
}

const predecessorCache = new WeakMap<readonly (Sighting | undefined)[], Map<number, number[]>>();

/** Which printed breadcrumbs can come right before each one (only printed ones can be on a path). */
function predecessors(manifest: Manifest, seen: readonly (Sighting | undefined)[]): Map<number, number[]> {
  let preds = predecessorCache.get(seen);
  if (!preds) {
    preds = new Map();
    for (const s of seen) {
      if (!s) continue;
      for (const next of successorsOf(manifest, s.crumb)) {
        const list = preds.get(next.id) ?? [];
        list.push(s.crumb.id);
        preds.set(next.id, list);
      }
    }
    predecessorCache.set(seen, preds);
  }
  return preds;
}

/** A hung-task report belongs to the stopped task in the work function it names, or in its backtrace's function (or inlined into it). */
function nameByReports(tasks: Task[], { reports, manifests }: WaitInput): void {
  const instrumented = new Set(manifests.flatMap((m) => m.functions.map((f) => f.name)));
  for (const report of reports) {
    if (report.kind !== 'hung-task' || report.pid === undefined) continue;
    // the `Workqueue: events remap_sync_work` line names the handler a kworker runs; else the backtrace
    const fn = report.work && instrumented.has(report.work) ? report.work : topInstrumentedFrame(report.frames, instrumented)?.function;
    const byPid = tasks.find((t) => t.key === `T${report.pid}`);
    const byFrame = fn ? tasks.filter((t) => !t.report && runsIn(manifests[t.at.manifest], fn, t.at.crumb.function)) : [];
    // several tasks stopped in that function: the latest to stop is the one still there
    const task = byPid ?? byFrame[byFrame.length - 1];
    if (!task) continue;
    task.report = report;
    task.name = `${report.task}:${report.pid}`;
    if (!task.key.startsWith('T')) task.key = `T${report.pid}`;
  }
}

function waitOf(task: Task, tasks: readonly Task[], input: WaitInput): TaskWait | undefined {
  const { at } = task;
  const ops = input.opsOf(at.manifest, at.crumb).filter((op) => (op.operation === 'wait' && WAIT_KINDS.has(op.family)) || (op.operation === 'acquire' && SLEEPING_LOCKS.has(op.family)));
  const op = ops[ops.length - 1];
  if (!op) return undefined;
  const wait: TaskWait = { task, kind: op.family as WaitKind, call: op.call, object: op.object, holders: [], handlers: [], signallers: [] };
  const others = tasks.filter((t) => t !== task);
  const manifest = input.manifests[at.manifest];
  switch (wait.kind) {
    case 'mutex':
    case 'rt_mutex':
    case 'rwsem':
    case 'semaphore': {
      const site = input.tracker.catalog.sitesOf(at.manifest, at.crumb).filter((s) => s.kind === 'acquire').pop();
      if (site) wait.holders = tasks.filter((t) => holdsLock(t, site));
      break;
    }
    case 'work':
    case 'workqueue':
    case 'kthread': {
      wait.handlers = handlersOf(input.manifests, wait.kind, op.object);
      wait.holders = others.filter((t) => wait.handlers.some((h) => runsIn(input.manifests[t.at.manifest], h, t.at.crumb.function)));
      // the handler that belongs to this very task: a work item flushing itself or its own workqueue
      if (wait.handlers.some((h) => task.path.some((s) => s.crumb.function === h))) wait.holders.unshift(task);
      if (wait.holders.length === 0) wait.endedBy = handlerEndAfter(input, wait.handlers, at);
      break;
    }
    case 'completion':
    case 'waitqueue': {
      wait.signallers = signalsOf(input, wait.kind, op.object);
      wait.endedBy = wait.signallers.map((s) => input.lastSeen[s.manifest][s.crumb.id - 1]).find((s) => s !== undefined && s.offset > at.offset);
      const signalIn = new Set(wait.signallers.map((s) => s.crumb.function));
      wait.holders = others.filter((t) => [...signalIn].some((fn) => runsIn(input.manifests[t.at.manifest], fn, t.at.crumb.function) || reachesByCalls(manifest, t.at.crumb.function, fn)));
      break;
    }
    case 'rcu':
      wait.holders = others.filter((t) => t.inRcu);
      break;
    case 'sleep':
      break;
  }
  return wait;
}

function holdsLock(task: Task, wanted: LockSite): boolean {
  return task.holds.some((h) => {
    const match = matchLocks(wanted, h.site);
    return match !== undefined && conflicts(wanted.mode, h.site.mode);
  });
}

/** `fn` is `handler` or a function it calls (inlined or not, the task runs the handler). */
function runsIn(manifest: Manifest, handler: string, fn: string): boolean {
  return fn === handler || reachesByCalls(manifest, handler, fn);
}

/** The member a work item, workqueue or task pointer is known by: `rc->sync_work` -> `sync_work`. */
function memberOf(object: string | undefined): string | undefined {
  return object?.match(/([A-Za-z_]\w*)\W*$/)?.[1];
}

/**
 * The handlers of a work item (by its member), of every work item (a workqueue), or of the kthreads, from
 * the bindings instrument read from the tree (`INIT_WORK(&rc->sync_work, remap_sync_work)`).
 */
export function handlersOf(manifests: readonly Manifest[], kind: 'work' | 'workqueue' | 'kthread', object: string | undefined): string[] {
  const key = memberOf(object);
  const names = new Set<string>();
  for (const manifest of manifests) {
    for (const binding of manifest.deferred ?? []) {
      if (kind === 'kthread' ? binding.runs === 'thread' : binding.runs === 'work' && (kind === 'workqueue' || binding.member === key)) names.add(binding.handler);
    }
  }
  return [...names];
}

/** A handler that printed its return after the wait began: the work finished, the flush should have ended. */
function handlerEndAfter(input: WaitInput, handlers: string[], at: Sighting): Sighting | undefined {
  for (const [m, manifest] of input.manifests.entries()) {
    for (const crumb of manifest.crumbs) {
      if (!handlers.includes(crumb.function) || !LEFT.has(crumb.kind)) continue;
      const s = input.lastSeen[m][crumb.id - 1];
      if (s && s.offset > at.offset) return s;
    }
  }
  return undefined;
}

/** The breadcrumbs whose statement signals the same completion or wait queue: same expression, else same member. */
function signalsOf(input: WaitInput, kind: WaitKind, object: string | undefined): { manifest: number; crumb: ManifestCrumb }[] {
  const found: { manifest: number; crumb: ManifestCrumb }[] = [];
  const member = memberOf(object);
  input.manifests.forEach((manifest, m) => {
    for (const crumb of manifest.crumbs) {
      const ops = input.opsOf(m, crumb);
      if (ops.some((op) => op.operation === 'signal' && op.family === kind && (op.object === object || (member !== undefined && memberOf(op.object) === member)))) {
        found.push({ manifest: m, crumb });
      }
    }
  });
  return found;
}

/**
 * Follows each wait to the end of its chain: a task that waits for nothing another task holds. A chain
 * that comes back to a task already on it is a deadlock. The root is the end most waiters lead to.
 */
function rootOf(waits: TaskWait[]): WaitRoot | undefined {
  if (waits.length === 0) return undefined;
  const byTask = new Map(waits.map((w) => [w.task, w]));
  const ends = new Map<Task, WaitRoot>();
  for (const start of waits) {
    const chain: TaskWait[] = [];
    let wait: TaskWait | undefined = start;
    let root: WaitRoot | undefined;
    while (wait) {
      const again = chain.indexOf(wait);
      if (again >= 0) {
        const cycle = chain.slice(again);
        const first = [...cycle].sort((a, b) => a.task.at.offset - b.task.at.offset)[0];
        root = { reason: 'deadlock', task: first.task, wait: first, chain: [...chain], cycle, waiters: [] };
        break;
      }
      chain.push(wait);
      const holder: Task | undefined = wait.holders[0];
      // a sleeping lock no task's path holds: taken where kcrumb cannot see; the CPU trails may know more
      if (!holder && SLEEPING_LOCKS.has(wait.kind)) break;
      if (!holder) {
        root = { reason: 'waits-unsignalled', task: wait.task, wait, chain, waiters: [] };
        break;
      }
      const next = byTask.get(holder);
      if (!next) {
        // asleep somewhere kcrumb cannot see (code without breadcrumbs, or a wait it does not know)
        root = { reason: SLEEPING_LOCKS.has(wait.kind) ? 'holds-lock-waited-by' : 'stopped-waited-for', task: holder, chain, waiters: [] };
        break;
      }
      wait = next;
    }
    if (!root) continue;
    const end = ends.get(root.task) ?? root;
    if (end.chain.length < root.chain.length) Object.assign(end, { chain: root.chain });
    end.waiters.push(start);
    ends.set(root.task, end);
  }
  return [...ends.values()].sort((a, b) => b.waiters.length - a.waiters.length || a.task.at.offset - b.task.at.offset)[0];
}
