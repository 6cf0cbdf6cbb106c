/**
 * Livelocks: a thread whose last breadcrumbs are one cycle over and over (a loop or a recursion that
 * never ends) is busy, not stopped at one line. The shown trail is short (--trail), so each thread also
 * keeps a longer history of breadcrumb ids only, in typed arrays: bounded memory, enough to see a cycle
 * repeated many times and where the thread entered it.
 */

/** How many breadcrumbs of history a thread keeps for cycle detection. */
export const HISTORY = 4096;
/** The longest cycle looked for, in breadcrumbs. */
export const MAX_PERIOD = 256;
/** A cycle counts once it went round this many times... */
export const MIN_REPEATS = 4;
/** ...and covers at least this many breadcrumbs (one breadcrumb printed 4 times is a short loop, not news). */
export const MIN_CYCLE_CRUMBS = 8;

/** A breadcrumb in the history: manifest index and id packed into one number. */
export function historyKey(manifest: number, id: number): number {
  return manifest * 0x1000000 + id;
}

export function unpackKey(key: number): { manifest: number; id: number } {
  return { manifest: Math.floor(key / 0x1000000), id: key % 0x1000000 };
}

/** Where one history entry came from in the log. */
export interface HistoryEntry {
  key: number;
  offset: number;
  lineNumber?: number;
  time?: number;
}

/** A ring of the last `capacity` breadcrumbs of one thread; grows on demand, so short threads cost little. */
export class CrumbHistory {
  private keys: Float64Array;
  private offsets: Float64Array;
  private lines: Float64Array;
  private times: Float64Array;
  private head = 0;
  private size = 0;

  constructor(private readonly capacity = HISTORY) {
    const n = Math.min(16, capacity);
    this.keys = new Float64Array(n);
    this.offsets = new Float64Array(n);
    this.lines = new Float64Array(n);
    this.times = new Float64Array(n);
  }

  push(entry: HistoryEntry): void {
    if (this.size === this.keys.length && this.size < this.capacity) this.grow();
    const at = (this.head + this.size) % this.keys.length;
    this.keys[at] = entry.key;
    this.offsets[at] = entry.offset;
    this.lines[at] = entry.lineNumber ?? NaN;
    this.times[at] = entry.time ?? NaN;
    if (this.size < this.keys.length) this.size++;
    else this.head = (this.head + 1) % this.keys.length;
  }

  get length(): number {
    return this.size;
  }

  /** Entry i, 0 the oldest kept. */
  at(i: number): HistoryEntry {
    const j = (this.head + i) % this.keys.length;
    const line = this.lines[j];
    const time = this.times[j];
    return { key: this.keys[j], offset: this.offsets[j], lineNumber: Number.isNaN(line) ? undefined : line, time: Number.isNaN(time) ? undefined : time };
  }

  /** The keys, oldest first. */
  keyList(): Float64Array {
    const out = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.keys[(this.head + i) % this.keys.length];
    return out;
  }

  private grow(): void {
    const n = Math.min(this.capacity, this.keys.length * 2);
    const old = { keys: this.keys, offsets: this.offsets, lines: this.lines, times: this.times };
    const copy = (from: Float64Array) => {
      const to = new Float64Array(n);
      for (let i = 0; i < this.size; i++) to[i] = from[(this.head + i) % from.length];
      return to;
    };
    this.keys = copy(old.keys);
    this.offsets = copy(old.offsets);
    this.lines = copy(old.lines);
    this.times = copy(old.times);
    this.head = 0;
  }
}

export interface TailCycle {
  /** Breadcrumbs in one turn of the cycle. */
  period: number;
  /** Index in the sequence where the repeating tail begins (the first breadcrumb of the first turn). */
  start: number;
  /** Whole turns in the repeating tail. */
  repeats: number;
  /** Breadcrumbs of a last, unfinished turn. */
  partial: number;
}

/**
 * The cycle the end of `keys` repeats, if it went round at least MIN_REPEATS times over at least
 * MIN_CYCLE_CRUMBS breadcrumbs. The tail may end anywhere in a turn. Of the periods that fit, the one
 * that explains the longest tail wins (an outer loop over an inner one), then the shortest.
 */
export function findTailCycle(keys: ArrayLike<number>, options: { minRepeats?: number; minCrumbs?: number; maxPeriod?: number } = {}): TailCycle | undefined {
  const minRepeats = options.minRepeats ?? MIN_REPEATS;
  const minCrumbs = options.minCrumbs ?? MIN_CYCLE_CRUMBS;
  const n = keys.length;
  const maxPeriod = Math.min(options.maxPeriod ?? MAX_PERIOD, Math.floor(n / minRepeats));
  let best: TailCycle | undefined;
  let bestMatched = -1;
  for (let p = 1; p <= maxPeriod; p++) {
    // how far back from the end every breadcrumb equals the one p before it
    let i = n - 1;
    while (i >= p && keys[i] === keys[i - p]) i--;
    const matched = n - 1 - i;
    const length = matched + p;
    if (length < minRepeats * p || length < minCrumbs || matched <= bestMatched) continue;
    best = { period: p, start: n - length, repeats: Math.floor(length / p), partial: length % p };
    bestMatched = matched;
  }
  return best;
}
