/**
 * Where in a function a spinlock is held or interrupts (or preemption) are off, so breadcrumbs there can be
 * marked: a printk in a critical section is allowed but slow, and by itself can trip the lockup detector.
 *
 * Read from the function alone, in the straight-line order of its statements: after an acquisition the
 * vocabulary says makes a context (`spin_lock*`, `read_lock*`, `write_seqlock*`, `local_irq_save`,
 * `preempt_disable`, `local_bh_disable`, ...: vocabulary/sync.ts) and before the matching release; inside `scoped_guard(spinlock..., ...)` bodies; from `guard(spinlock...)`
 * to the end of its block. An if-arm that ends in return or goto does not carry its releases past the if
 * (`if (err) { spin_unlock(&l); return; }`), and a goto carries what it holds to its label. Locks taken by
 * a caller (`__must_hold`, `*_locked` helpers) and trylocks are not seen.
 */
import type { SyntaxNode } from '../parse/syntax-tree.js';
import { matchParen } from '../parse/mask.js';
import { guardContext, type CrumbContext } from '../vocabulary/sync.js';
import { endsControlFlow, statementList, unlabel } from './statements.js';
import { callsBetween, type FoundCall } from './sync-calls.js';

interface Held {
  context: CrumbContext;
  /** The vocabulary's family: what releases it (spin_unlock* a spinlock, local_irq_restore an irq section). */
  family: string;
  /** The lock expression, normalised, or '' for irq/preempt sections. */
  lock: string;
  /** The acquiring call as written, shortened: `spin_lock_irqsave(&rc->lock, flags)`. */
  text: string;
  /** Start of the block a guard() belongs to: released at that block's end. */
  scope?: number;
}

/** null: unreachable (after return, goto, break, continue). */
type State = Held[] | null;

export interface SiteContext {
  context: CrumbContext;
  heldBy: string;
}

type Event = { type: 'acquire'; held: Held } | { type: 'release'; family: string; lock: string };

/** Acquisitions that make a context and releases, from the vocabulary; trylocks are not followed (a known gap). */
function eventOf(call: FoundCall): Event | undefined {
  const entry = call.entry;
  if (!entry) return undefined;
  if (entry.operation === 'acquire' && entry.context) return { type: 'acquire', held: { context: entry.context, family: entry.family, lock: call.object, text: call.text } };
  if (entry.operation === 'release') return { type: 'release', family: entry.family, lock: call.object };
  return undefined;
}

const GUARD = /^\s*guard\s*\(\s*(\w+)\s*\)\s*\(/;
const SCOPED_GUARD = /^scoped(?:_cond)?_guard\s*\(\s*(\w+)\s*,/;

function apply(state: Held[], event: Event): Held[] {
  if (event.type === 'acquire') return [...state, event.held];
  let at = -1;
  for (let i = state.length - 1; i >= 0 && at < 0; i--) if (state[i].family === event.family && state[i].lock === event.lock) at = i;
  for (let i = state.length - 1; i >= 0 && at < 0; i--) if (state[i].family === event.family) at = i;
  return at < 0 ? state : [...state.slice(0, at), ...state.slice(at + 1)];
}

/** What may be held where two paths join: held on either. */
function merge(a: State, b: State): State {
  if (a === null) return b;
  if (b === null) return a;
  const out = [...a];
  for (const h of b) if (!out.some((o) => o.family === h.family && o.lock === h.lock)) out.push(h);
  return out;
}

/**
 * The context of every statement start and block end of one function body, by offset. A site's context
 * is the entry at its offset (the statement it precedes, or the block end it sits before).
 */
export function lockContexts(body: SyntaxNode, original: string, calls: readonly FoundCall[]): Map<number, SiteContext> {
  const states = new Map<number, Held[]>();
  const gotoStates = new Map<string, State>();
  const record = (offset: number, state: State) => {
    if (state && state.length > 0 && !states.has(offset)) states.set(offset, state);
  };
  const text = (node: SyntaxNode | null) => (node ? original.slice(node.startIndex, node.endIndex) : '');
  const run = (state: Held[], node: SyntaxNode | null) => {
    if (!node) return state;
    for (const call of callsBetween(calls, node.startIndex, node.endIndex)) {
      const event = eventOf(call);
      if (event) state = apply(state, event);
    }
    return state;
  };

  const walkList = (block: SyntaxNode, items: SyntaxNode[], state: State): State => {
    for (const item of items) state = walkStatement(item, state, block.startIndex);
    record(block.endIndex - 1, state);
    return state && state.filter((h) => h.scope !== block.startIndex);
  };

  const walkStatement = (s: SyntaxNode, state: State, blockStart: number): State => {
    if (s.type === 'labeled_statement') {
      const label = s.childForFieldName('label')?.text ?? '';
      const inner = unlabel(s);
      // Reached by falling through and by every goto seen so far; after a return, by the gotos only.
      const joined = merge(state, gotoStates.get(label) ?? null) ?? [];
      return inner === s ? joined : walkStatement(inner, joined, blockStart);
    }
    const live = state ?? [];
    record(s.startIndex, live);
    switch (s.type) {
      case 'compound_statement':
        return walkList(s, statementList(s).map((i) => i.node), live);
      case 'if_statement': {
        const afterCondition = run(live, s.childForFieldName('condition'));
        const consequence = s.childForFieldName('consequence');
        const alternative = s.childForFieldName('alternative');
        const elseBody = alternative?.type === 'else_clause' ? alternative.namedChild(alternative.namedChildCount - 1) : alternative;
        const a = consequence ? walkStatement(consequence, afterCondition, blockStart) : afterCondition;
        const b = elseBody ? walkStatement(elseBody, afterCondition, blockStart) : afterCondition;
        return merge(a, b);
      }
      case 'while_statement':
      case 'for_statement': {
        const guard = SCOPED_GUARD.exec(original.slice(s.startIndex, s.startIndex + 200));
        const context = guard ? guardContext(guard[1]) : undefined;
        let head = live;
        if (context) head = [...live, { context, family: 'guard', lock: '', text: headText(original, s), scope: s.startIndex }];
        else for (const field of ['initializer', 'condition']) head = run(head, s.childForFieldName(field));
        const bodyNode = s.childForFieldName('body');
        const out = bodyNode ? walkStatement(bodyNode, head, blockStart) : head;
        return (out ?? live).filter((h) => h.scope !== s.startIndex);
      }
      case 'do_statement': {
        const bodyNode = s.childForFieldName('body');
        const out = bodyNode ? walkStatement(bodyNode, live, blockStart) : live;
        return out === null ? live : run(out, s.childForFieldName('condition'));
      }
      case 'switch_statement': {
        const afterCondition = run(live, s.childForFieldName('condition'));
        const switchBody = s.childForFieldName('body');
        for (const { node } of switchBody ? statementList(switchBody) : []) {
          if (node.type === 'case_statement') walkList(node, statementList(node).map((i) => i.node), afterCondition);
          else walkStatement(node, afterCondition, blockStart);
        }
        return afterCondition;
      }
      case 'goto_statement': {
        const label = s.childForFieldName('label')?.text ?? '';
        gotoStates.set(label, merge(gotoStates.get(label) ?? null, live));
        return null;
      }
      case 'return_statement':
      case 'break_statement':
      case 'continue_statement':
        return null;
      default: {
        const guard = GUARD.exec(text(s));
        const context = guard ? guardContext(guard[1]) : undefined;
        if (context) return [...live, { context, family: 'guard', lock: '', text: text(s).replace(/\s+/g, ' ').replace(/;$/, ''), scope: blockStart }];
        const after = run(live, s);
        return endsControlFlow(s) ? null : after;
      }
    }
  };

  walkStatement(body, [], body.startIndex);
  const contexts = new Map<number, SiteContext>();
  for (const [offset, held] of states) contexts.set(offset, describe(held));
  return contexts;
}

/** The most constraining context held, and the innermost call that made it. */
function describe(held: Held[]): SiteContext {
  const context: CrumbContext = held.some((h) => h.context === 'irqs-off') ? 'irqs-off' : held.some((h) => h.context === 'spinlock') ? 'spinlock' : 'preempt-off';
  const by = [...held].reverse().find((h) => h.context === context)!;
  return { context, heldBy: by.text };
}

function headText(original: string, loop: SyntaxNode): string {
  const open = original.indexOf('(', loop.startIndex);
  const close = open < 0 ? -1 : matchParen(original, open);
  return (close < 0 ? original.slice(loop.startIndex, loop.startIndex + 40) : original.slice(loop.startIndex, close + 1)).replace(/\s+/g, ' ');
}
