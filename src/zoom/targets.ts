/**
 * Which functions `kcrumb zoom` re-instruments at every line, decided from a coarse run's answer: per
 * thread, the innermost function it entered and did not leave (rebuilt from the trail's entry and return
 * breadcrumbs), and the instrumented functions its last breadcrumb was about to call.
 */
import { KcrumbError } from '../errors.js';
import type { Manifest } from '../manifest/schema.js';
import { successorsOf } from '../manifest/successors.js';
import type { Answer } from '../locate/locate.js';
import type { Sighting } from '../locate/threads.js';
import type { InstrumentResult } from '../instrument/instrument.js';

export interface ZoomTarget {
  name: string;
  /** Why it was chosen, shown to the user and kept as the function's reason in the new manifest. */
  reason: string;
}

export interface ZoomPlan {
  /** Index of the manifest of the coarse run (the answer's). */
  manifest: number;
  targets: ZoomTarget[];
  /** Threads that gave no function, and why (a trail that ends in a return to code without breadcrumbs). */
  notes: string[];
}

/** Keeps why each target was zoomed as its reason, in the new manifest and the report. */
export function recordReasons(result: InstrumentResult, targets: readonly ZoomTarget[], from: string): void {
  const reasons = new Map(targets.map((t) => [t.name, `${from}: ${t.reason}`]));
  for (const fn of result.manifest.functions) fn.reason = reasons.get(fn.name) ?? fn.reason;
  for (const s of result.selected) s.reason = reasons.get(s.name) ?? s.reason;
}

/** Where a thread was when the log ended, in terms of functions. */
export interface OpenFunctions {
  /** Functions entered and not left, outermost first; the last one is where the thread is. */
  stack: string[];
  /** Set when the trail ends with the return of a function whose caller the trail does not show. */
  returnedFrom?: string;
}

/**
 * Replays a trail's breadcrumbs as calls and returns. An entry pushes its function, a return or the end of
 * a void function pops it; any other breadcrumb says its function is on top (the trail may begin inside it).
 */
export function openFunctions(trail: readonly Sighting[]): OpenFunctions {
  const stack: string[] = [];
  let returnedFrom: string | undefined;
  for (const { crumb } of trail) {
    const fn = crumb.function;
    returnedFrom = undefined;
    if (crumb.kind === 'entry') {
      stack.push(fn);
    } else if (crumb.kind === 'return' || crumb.kind === 'exit') {
      const at = stack.lastIndexOf(fn);
      if (at >= 0) stack.length = at;
      else stack.length = 0; // it was entered before the trail began: its caller is unknown
      if (stack.length === 0) returnedFrom = fn;
    } else {
      const at = stack.lastIndexOf(fn);
      if (at >= 0) stack.length = at + 1;
      else stack.push(fn);
    }
  }
  return { stack, returnedFrom };
}

/**
 * The functions to zoom into. Refuses a log of an every-line run (it already names the line) and a log
 * whose threads all left the instrumented code.
 */
export function planZoom(answer: Answer, manifests: readonly Manifest[]): ZoomPlan {
  if (answer.status !== 'found' || !answer.last) {
    throw new KcrumbError('input', 'the log holds none of our breadcrumbs: nothing to zoom into', answer.hint);
  }
  const m = answer.last.manifest;
  const manifest = manifests[m];
  if (manifest.level === 'every-line') {
    throw new KcrumbError(
      'input',
      `the log is from an every-line run (tag ${manifest.tag}): it already names the line, there is nothing finer to zoom to`,
      'run: kcrumb locate-freeze LOG',
    );
  }
  const targets = new Map<string, string>();
  const add = (name: string, reason: string) => {
    if (!targets.has(name)) targets.set(name, reason);
  };
  const notes: string[] = [];
  for (const thread of answer.threads) {
    const trail = thread.crumbs.filter((s) => s.manifest === m);
    if (trail.length === 0) continue;
    const isAnswer = thread.key === answer.last.thread;
    const last = trail[trail.length - 1];
    const { stack, returnedFrom } = openFunctions(trail);
    const where = `${thread.key}${isAnswer ? ' (the answer)' : ''}`;
    const innermost = stack[stack.length - 1];
    if (innermost === undefined) {
      // only the answer's thread is worth a note: the others finished their work
      if (isAnswer) notes.push(`${where}: last breadcrumb #${last.crumb.id} is the return of ${returnedFrom}(), whose caller has no breadcrumbs`);
      continue;
    }
    if (innermost === last.crumb.function) {
      add(innermost, `${where} stopped in it after #${last.crumb.id} (${last.crumb.kind})`);
    } else {
      add(innermost, `${where} returned from ${last.crumb.function}() into it (#${last.crumb.id}) and printed nothing more`);
    }
    for (const next of successorsOf(manifest, last.crumb)) {
      if (next.function !== last.crumb.function && next.kind === 'entry') {
        add(next.function, `${where} was about to call it after #${last.crumb.id}`);
      }
    }
  }
  if (targets.size === 0) {
    throw new KcrumbError(
      'input',
      `no thread stopped inside an instrumented function (${notes.join('; ') || 'every trail ends in a return'})`,
      'instrument the callers too (a wider --functions, or the default selection), reproduce, then zoom',
    );
  }
  return { manifest: m, targets: [...targets].map(([name, reason]) => ({ name, reason })), notes };
}
