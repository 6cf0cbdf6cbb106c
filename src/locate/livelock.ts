/**
 * From a thread's breadcrumb history to "it went round this cycle N times": a livelock when it was still
 * going round when the log ended, or a stop inside a loop when it went quiet long before the log's end.
 */
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';
import { findTailCycle, unpackKey, type HistoryEntry } from './cycle.js';
import type { Thread } from './threads.js';

export interface CyclePoint {
  manifest: number;
  crumb: ManifestCrumb;
}

export interface PlacedPoint extends CyclePoint {
  offset: number;
  lineNumber?: number;
  time?: number;
}

export interface CycleReport {
  thread: string;
  /** One turn, in the order the thread ran it, from where it entered the cycle (else from its lowest number). */
  cycle: CyclePoint[];
  /** Whole turns seen, and breadcrumbs of the last unfinished one. */
  repeats: number;
  partial: number;
  /** A function entered in every turn and never left: a recursion; otherwise a loop. */
  shape: 'loop' | 'recursion';
  /** The first breadcrumb of the first turn seen (the oldest kept, when `before` is absent). */
  entered: PlacedPoint;
  /** The breadcrumb just before the first turn; absent when the history is all cycle (it began earlier). */
  before?: PlacedPoint;
  /** False when the thread went quiet long before the log ended (stopped inside the loop); unknown without times. */
  stillGoing?: boolean;
  /** Seconds between the thread's last breadcrumb and the log's last timestamp. */
  quietSeconds?: number;
  /** A livelock: the cycle, and the thread was not seen to stop going round it. */
  livelock: boolean;
}

/** Quiet for longer than this many turns (and at least QUIET_MIN_S) means the thread stopped. */
const QUIET_TURNS = 50;
const QUIET_MIN_S = 1;

/** The cycle at the end of a thread's history, if any. `logEndTime`: the boot's last timestamp. */
export function cycleOf(thread: Thread, manifests: readonly Manifest[], logEndTime?: number): CycleReport | undefined {
  const history = thread.history;
  const found = findTailCycle(history.keyList());
  if (!found) return undefined;
  const point = (entry: HistoryEntry): PlacedPoint => {
    const { manifest, id } = unpackKey(entry.key);
    return { manifest, crumb: manifests[manifest].crumbs[id - 1], offset: entry.offset, lineNumber: entry.lineNumber, time: entry.time };
  };
  const cycle: CyclePoint[] = [];
  for (let i = found.start; i < found.start + found.period; i++) {
    const { manifest, crumb } = point(history.at(i));
    cycle.push({ manifest, crumb });
  }
  const before = found.start > 0 ? point(history.at(found.start - 1)) : undefined;
  if (!before) {
    // entered before the history began: show the turn in source order, from its lowest number
    const low = cycle.reduce((best, p, i) => (p.crumb.id < cycle[best].crumb.id ? i : best), 0);
    cycle.push(...cycle.splice(0, low));
  }
  const entered = point(history.at(found.start));
  const last = history.at(history.length - 1);
  const turnStart = history.at(history.length - 1 - found.period);
  let stillGoing: boolean | undefined;
  let quietSeconds: number | undefined;
  if (logEndTime !== undefined && last.time !== undefined) {
    quietSeconds = Math.max(0, logEndTime - last.time);
    const turn = turnStart.time !== undefined ? Math.max(0, last.time - turnStart.time) : 0;
    stillGoing = quietSeconds <= Math.max(QUIET_MIN_S, QUIET_TURNS * turn);
  }
  return {
    thread: thread.key,
    cycle,
    repeats: found.repeats,
    partial: found.partial,
    shape: isRecursion(cycle) ? 'recursion' : 'loop',
    entered,
    before,
    stillGoing,
    quietSeconds,
    livelock: stillGoing !== false,
  };
}

function isRecursion(cycle: CyclePoint[]): boolean {
  const entries = new Set(cycle.filter((p) => p.crumb.kind === 'entry').map((p) => p.crumb.function));
  const leaves = new Set(cycle.filter((p) => p.crumb.kind === 'return' || p.crumb.kind === 'exit').map((p) => p.crumb.function));
  return [...entries].some((fn) => !leaves.has(fn));
}
