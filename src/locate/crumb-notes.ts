/**
 * What an answer adds about where a breadcrumb ran: with a spinlock held or interrupts off (read by
 * instrument, see instrument/lock-context.ts), and whether a loop's breadcrumb went quiet because of
 * --loop-limit. Kept apart from report.ts so both text and JSON say the same thing.
 */
import type { CrumbContext, Manifest, ManifestCrumb } from '../manifest/schema.js';

const CONTEXT_WORDS: Record<CrumbContext, string> = {
  'irqs-off': 'interrupts off',
  spinlock: 'a spinlock held',
  'preempt-off': 'preemption or softirqs off',
};

/** A short tag for trails: ` [irqs-off]`, or '' when the breadcrumb ran in no critical section. */
export function contextTag(crumb: ManifestCrumb): string {
  return crumb.context ? ` [${crumb.context}]` : '';
}

/** `runs with interrupts off (spin_lock_irqsave(&rc->lock, flags))`, or undefined. */
export function contextLine(crumb: ManifestCrumb): string | undefined {
  if (!crumb.context) return undefined;
  return `runs with ${CONTEXT_WORDS[crumb.context]} (${crumb.heldBy ?? 'in this function'})`;
}

export interface QuietLoop {
  id: number;
  /** --loop-limit of the run. */
  limit: number;
  /** How often it printed in this boot (the counter is per breadcrumb, shared by every CPU). */
  printed: number;
}

/**
 * The breadcrumb sits in a loop and printed as often as --loop-limit lets it: after that it runs silently,
 * so the loop may have gone on (a livelock or a long loop) after the last line that printed.
 */
export function quietLoop(manifest: Manifest, crumb: ManifestCrumb, printed: number): QuietLoop | undefined {
  const limit = manifest.loopLimit;
  if (!limit || !crumb.loop || printed < limit) return undefined;
  return { id: crumb.id, limit, printed };
}

export function quietLoopLine(quiet: QuietLoop): string {
  return (
    `#${quiet.id} is in a loop and printed ${quiet.printed} time(s), the --loop-limit of ${quiet.limit}: it prints no more after that, ` +
    'so the loop may have kept running silently (a long loop or a livelock), not stopped at this statement'
  );
}
