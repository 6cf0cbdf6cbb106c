/**
 * Which of the kernel's reports tells how the run ended. A crash (an oops, a BUG, a memory error, a panic)
 * comes first: the lockups and hung tasks after it are usually its consequences (it died holding a lock).
 * Then a lockup, a stall or a hang: the machine froze. A warning or a lockdep report alone did not end
 * anything: the machine went on, and says so. An injected NMI is never the death: it ended a run that
 * had already frozen (see injectedOf).
 */
import type { Death } from '../reports/kinds.js';

const RANKS: readonly (readonly Death[])[] = [
  ['oops', 'bug', 'memory', 'panic'],
  ['lockup', 'stall', 'hang'],
  ['warning', 'lockdep'],
];

export function deathOf<T extends { report: { death: Death } }>(checks: readonly T[]): T | undefined {
  for (const rank of RANKS) {
    const first = checks.find((c) => rank.includes(c.report.death));
    if (first) return first;
  }
  return undefined;
}

/** The NMI sent from outside that ended the run, when one did (the last one: a later send is the one that worked). */
export function injectedOf<T extends { report: { death: Death } }>(checks: readonly T[]): T | undefined {
  return [...checks].reverse().find((c) => c.report.death === 'injected');
}

/** A death the word "freeze" does not describe: the machine crashed or went on. */
export function notAFreeze(death: Death): boolean {
  return !['lockup', 'stall', 'hang'].includes(death);
}

/** What the report's CPU or task did, for a headline: `faulted`, `hit a BUG`, `warned`, ... */
export const DEATH_VERBS: Record<Death, string> = {
  oops: 'faulted',
  bug: 'hit a BUG',
  warning: 'warned',
  memory: 'reported a memory error',
  lockdep: 'reported a locking problem',
  lockup: 'locked up',
  stall: 'stalled',
  hang: 'hung',
  panic: 'panicked',
  backtrace: 'printed a backtrace',
  injected: 'received an NMI from outside',
};
