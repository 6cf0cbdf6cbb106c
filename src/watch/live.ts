/**
 * `kcrumb watch`'s core: the live last breadcrumb of each CPU (or task) from a stream of log text, and
 * the moment the stream went quiet after breadcrumbs were flowing. Time is passed in, so tests need no
 * clock; the final answer comes from locate-freeze over the saved log, not from here.
 */
import { findCrumbs } from '../breadcrumb.js';
import type { ManifestCrumb } from '../manifest/schema.js';
import { parseLogLine } from '../log/log-line.js';
import type { CrumbResolver } from '../locate/resolve.js';
import { threadKey } from '../locate/threads.js';

export interface LiveThread {
  key: string;
  manifest: number;
  crumb: ManifestCrumb;
  cpu: number;
  count: number;
  /** When it was seen (the caller's clock, ms). */
  seenAt: number;
}

/** Longest partial line kept while waiting for its end. */
const MAX_CARRY = 64 * 1024;

export class LiveCrumbs {
  private carry = '';
  private readonly threads = new Map<string, LiveThread>();
  total = 0;
  lastCrumbAt?: number;

  constructor(private readonly resolver: CrumbResolver) {}

  /** Feeds text as it arrives; returns how many breadcrumbs of ours it held. */
  push(text: string, now: number): number {
    const lines = (this.carry + text).split('\n');
    this.carry = lines.pop()!;
    if (this.carry.length > MAX_CARRY) this.carry = this.carry.slice(-MAX_CARRY);
    let found = 0;
    for (const line of lines) found += this.line(line, now);
    return found;
  }

  /** A new capture (the file was truncated or replaced): forget what was seen. */
  reset(): void {
    this.carry = '';
    this.threads.clear();
    this.total = 0;
    this.lastCrumbAt = undefined;
  }

  /** Threads by their last breadcrumb, most recent first. */
  list(): LiveThread[] {
    return [...this.threads.values()].sort((a, b) => b.seenAt - a.seenAt || a.key.localeCompare(b.key));
  }

  private line(raw: string, now: number): number {
    if (!raw.includes('#')) return 0;
    const parsed = parseLogLine(raw);
    let found = 0;
    findCrumbs(raw).forEach((hit, i) => {
      const r = this.resolver.resolve(hit);
      if (!r.ok) return;
      const key = threadKey(i === 0 ? parsed.caller : undefined, hit.cpu, hit.task);
      const before = this.threads.get(key);
      this.threads.set(key, { key, manifest: r.manifest, crumb: r.crumb, cpu: hit.cpu, count: (before?.count ?? 0) + 1, seenAt: now });
      found++;
    });
    this.total += found;
    if (found > 0) this.lastCrumbAt = now;
    return found;
  }
}

/**
 * Quiet after flowing: armed by breadcrumbs, re-armed by any data, fires once when nothing arrived for
 * `quietMs`. Any data counts, so the kernel's own lockup report (which comes seconds after the last
 * breadcrumb) still makes it into the answer.
 */
export class QuietClock {
  private armed = false;
  private lastDataAt = 0;

  constructor(private readonly quietMs: number) {}

  data(now: number, crumbs: number): void {
    this.lastDataAt = now;
    if (crumbs > 0) this.armed = true;
  }

  /** True once, when the stream has been quiet long enough after breadcrumbs flowed; then disarmed. */
  fire(now: number): boolean {
    if (!this.armed || now - this.lastDataAt < this.quietMs) return false;
    this.armed = false;
    return true;
  }

  get isArmed(): boolean {
    return this.armed;
  }

  /** Milliseconds since the last data. */
  quietFor(now: number): number {
    return now - this.lastDataAt;
  }
}

/** One status line per thread: `CPU0  #9 remap_entry_flush()  dm-remap-metadata.c:46  (x12, 0.3 s ago)`. */
export function statusLines(threads: LiveThread[], display: (manifest: number, file: number) => string, now: number, max = 16): string[] {
  const shown = threads.slice(0, max);
  const lines = shown.map((t) => {
    const ago = ((now - t.seenAt) / 1000).toFixed(1);
    return `  ${t.key.padEnd(6)} #${t.crumb.id} ${t.crumb.function}()  ${display(t.manifest, t.crumb.file)}:${t.crumb.line}  (${t.count} seen, ${ago} s ago)`;
  });
  if (threads.length > max) lines.push(`  ... and ${threads.length - max} more`);
  return lines;
}
