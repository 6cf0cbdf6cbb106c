/**
 * Per-thread trails: the breadcrumbs each CPU (or each task, when the log has caller ids) printed, newest
 * last. One thread's trail is the path it took; the last entry of each is where it was when the log ended.
 * Kept as data of their own because a lock freeze needs all of them, not only the last line of the log.
 */
import type { ManifestCrumb } from '../manifest/schema.js';
import { CrumbHistory, historyKey } from './cycle.js';

/** One breadcrumb line of the log, resolved to its manifest entry. */
export interface Sighting {
  /** Index of the manifest (in the list the resolver got). */
  manifest: number;
  crumb: ManifestCrumb;
  tag: string;
  /** CPU printed in the breadcrumb. */
  cpu: number;
  /** Thread key: the caller id (`T123`, `C1`) when the line has one, else the --task-id pid (`T123`), else `CPU<n>`. */
  thread: string;
  /** Seconds since boot, when the line has such a timestamp (a ring dump's entry: when it ran). */
  time?: number;
  /** Read from a ring dump (--sink ring), printed when the kernel died, not when it ran. */
  fromDump?: true;
  /** 1-based line number in the log, when the whole log up to here was read. */
  lineNumber?: number;
  /** Byte offset of the line's start in the log. */
  offset: number;
  /** The log line, cleaned and shortened. */
  text: string;
}

export interface Thread {
  key: string;
  /** The newest breadcrumbs, oldest first; the last one is where the thread was last seen. */
  crumbs: Sighting[];
  /** How many breadcrumbs this thread printed in the part of the log read. */
  count: number;
  /** A longer history of ids only, to spot a cycle (see cycle.ts). */
  history: CrumbHistory;
}

/**
 * Caller ids name tasks across CPUs, and so does a --task-id breadcrumb's pid (the same pid a caller id
 * `T<pid>` carries); without either the breadcrumb's CPU is the only thread there is. Pid 0 is every
 * CPU's idle task (interrupts on an idle CPU): that CPU it is.
 */
export function threadKey(caller: string | undefined, cpu: number, task?: number): string {
  return caller ?? (task ? `T${task}` : `CPU${cpu}`);
}

export class ThreadTrails {
  private readonly threads = new Map<string, Thread>();

  /** Keeps `keep` breadcrumbs per thread: the last one and the trail that led there. */
  constructor(private readonly keep: number) {}

  add(sighting: Sighting): void {
    let thread = this.threads.get(sighting.thread);
    if (!thread) {
      thread = { key: sighting.thread, crumbs: [], count: 0, history: new CrumbHistory() };
      this.threads.set(sighting.thread, thread);
    }
    thread.count++;
    // A ring dump prints after the live lines it may have run before: its entries go by their clock.
    let at = thread.crumbs.length;
    while (sighting.fromDump && at > 0 && compareSightings(thread.crumbs[at - 1], sighting) > 0) at--;
    thread.crumbs.splice(at, 0, sighting);
    const { offset, lineNumber, time } = sighting;
    thread.history.push({ key: historyKey(sighting.manifest, sighting.crumb.id), offset, lineNumber, time });
    if (thread.crumbs.length > this.keep) thread.crumbs.shift();
  }

  /** The thread's last breadcrumb, if it printed one. */
  last(key: string): Sighting | undefined {
    const thread = this.threads.get(key);
    return thread && lastOf(thread);
  }

  get size(): number {
    return this.threads.size;
  }

  /** Threads by their last breadcrumb, most recent first. */
  list(): Thread[] {
    return [...this.threads.values()].sort((a, b) => compareSightings(lastOf(b), lastOf(a)));
  }
}

/**
 * Earlier first, by place in the log; an entry of a ring dump by the clock instead (the dump is printed
 * when the kernel dies, after everything its entries ran before).
 */
export function compareSightings(a: Sighting, b: Sighting): number {
  if ((a.fromDump || b.fromDump) && a.time !== undefined && b.time !== undefined && a.time !== b.time) return a.time - b.time;
  return a.offset - b.offset;
}

export function lastOf(thread: Thread): Sighting {
  return thread.crumbs[thread.crumbs.length - 1];
}
