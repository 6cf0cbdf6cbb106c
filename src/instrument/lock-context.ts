/**
 * Where in a function a spinlock is held or interrupts (or preemption) are off, so breadcrumbs there can be
 * marked: a printk in a critical section is allowed but slow, and by itself can trip the lockup detector.
 *
 * Read from the function alone, in the straight-line order of its statements: after `spin_lock*`,
 * `read_lock*`, `write_lock*`, `local_irq_save`/`disable`, `preempt_disable`, `local_bh_disable`, ... and
 * before the matching release; inside `scoped_guard(spinlock..., ...)` bodies; from `guard(spinlock...)`
 * to the end of its block. An if-arm that ends in return or goto does not carry its releases past the if
 * (`if (err) { spin_unlock(&l); return; }`), and a goto carries what it holds to its label. Locks taken by
 * a caller (`__must_hold`, `*_locked` helpers) and trylocks are not seen.
 */
import type { SyntaxNode } from '../parse/syntax-tree.js';
import type { CrumbContext } from '../manifest/schema.js';
import { matchParen } from '../parse/mask.js';
import { CALL_IN_TEXT, endsControlFlow, statementList, unlabel } from './statements.js';

interface Held {
  context: CrumbContext;
  /** What releases it: `spin` for spin_unlock*, `irq` for local_irq_restore/enable, ... */
  family: string;
  /** The lock expression (first argument, `&` and spaces dropped), or '' for irq/preempt. */
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

const SPIN_ACQUIRE = /^(?:raw_)?spin_lock(_irq|_irqsave)?(?:_nested|_bh|_bh_nested)?$/;
const SPIN_RELEASE = /^(?:raw_)?spin_unlock(?:_irq|_irqrestore|_bh)?$/;
const RW_ACQUIRE = /^(read|write)_lock(_irq|_irqsave)?(?:_bh)?$/;
const RW_RELEASE = /^(read|write)_unlock(?:_irq|_irqrestore|_bh)?$/;
const SEQ_ACQUIRE = /^write_seqlock(_irq|_irqsave)?(?:_bh)?$/;
const SEQ_RELEASE = /^write_sequnlock(?:_irq|_irqrestore|_bh)?$/;

/** Acquisitions that are not a spinlock-family name, and their release names. */
const OTHER_ACQUIRE: Record<string, { context: CrumbContext; family: string }> = {
  local_irq_disable: { context: 'irqs-off', family: 'irq' },
  local_irq_save: { context: 'irqs-off', family: 'irq' },
  raw_local_irq_disable: { context: 'irqs-off', family: 'irq' },
  raw_local_irq_save: { context: 'irqs-off', family: 'irq' },
  local_lock_irqsave: { context: 'irqs-off', family: 'local_lock' },
  local_lock_irq: { context: 'irqs-off', family: 'local_lock' },
  bit_spin_lock: { context: 'spinlock', family: 'bit' },
  hlist_bl_lock: { context: 'spinlock', family: 'hlist_bl' },
  preempt_disable: { context: 'preempt-off', family: 'preempt' },
  preempt_disable_notrace: { context: 'preempt-off', family: 'preempt' },
  get_cpu: { context: 'preempt-off', family: 'cpu' },
  get_cpu_var: { context: 'preempt-off', family: 'cpu_var' },
  get_cpu_ptr: { context: 'preempt-off', family: 'cpu_var' },
  local_bh_disable: { context: 'preempt-off', family: 'bh' },
};
const OTHER_RELEASE: Record<string, string> = {
  local_irq_enable: 'irq',
  local_irq_restore: 'irq',
  raw_local_irq_enable: 'irq',
  raw_local_irq_restore: 'irq',
  local_unlock_irqrestore: 'local_lock',
  local_unlock_irq: 'local_lock',
  bit_spin_unlock: 'bit',
  __bit_spin_unlock: 'bit',
  hlist_bl_unlock: 'hlist_bl',
  preempt_enable: 'preempt',
  preempt_enable_no_resched: 'preempt',
  preempt_enable_notrace: 'preempt',
  put_cpu: 'cpu',
  put_cpu_var: 'cpu_var',
  put_cpu_ptr: 'cpu_var',
  local_bh_enable: 'bh',
};

/** Families whose calls name no lock (the first argument is flags or a per-cpu variable, not a lock). */
const LOCKLESS_FAMILIES = new Set(['irq', 'preempt', 'cpu', 'cpu_var', 'bh']);

type Event = { type: 'acquire'; held: Held } | { type: 'release'; family: string; lock: string };

function classify(name: string, args: () => string, callText: () => string): Event | undefined {
  // The lock and the call's text are read only for the few calls that are lock events.
  const lock = () => (LOCKLESS_FAMILIES.has(name) ? '' : firstArgument(args()));
  const acquire = (context: CrumbContext, family: string): Event => ({ type: 'acquire', held: { context, family, lock: lock(), text: callText() } });
  let m = SPIN_ACQUIRE.exec(name);
  if (m) return acquire(m[1] ? 'irqs-off' : 'spinlock', 'spin');
  if ((m = RW_ACQUIRE.exec(name))) return acquire(m[2] ? 'irqs-off' : 'spinlock', m[1]);
  if ((m = SEQ_ACQUIRE.exec(name))) return acquire(m[1] ? 'irqs-off' : 'spinlock', 'seq');
  if (SPIN_RELEASE.test(name)) return { type: 'release', family: 'spin', lock: lock() };
  if ((m = RW_RELEASE.exec(name))) return { type: 'release', family: m[1], lock: lock() };
  if (SEQ_RELEASE.test(name)) return { type: 'release', family: 'seq', lock: lock() };
  const other = Object.hasOwn(OTHER_ACQUIRE, name) ? OTHER_ACQUIRE[name] : undefined;
  if (other) return { type: 'acquire', held: { ...other, lock: LOCKLESS_FAMILIES.has(other.family) ? '' : lock(), text: callText() } };
  const family = Object.hasOwn(OTHER_RELEASE, name) ? OTHER_RELEASE[name] : undefined;
  if (family) return { type: 'release', family, lock: LOCKLESS_FAMILIES.has(family) ? '' : lock() };
  return undefined;
}

/** What a guard class holds: `spinlock_irqsave` -> irqs-off, `raw_spinlock` -> spinlock, `preempt` -> preempt-off. */
function guardContext(guardClass: string): CrumbContext | undefined {
  if (/irq/.test(guardClass)) return 'irqs-off';
  if (/spinlock|^read_lock|^write_lock/.test(guardClass)) return 'spinlock';
  if (/^preempt/.test(guardClass)) return 'preempt-off';
  return undefined; // mutex, rcu, srcu, ...: sleeping or cheap, printk is fine
}

const GUARD = /^\s*guard\s*\(\s*(\w+)\s*\)\s*\(/;
const SCOPED_GUARD = /^scoped(?:_cond)?_guard\s*\(\s*(\w+)\s*,/;

/** The lock/irq events of `text`, in order. */
function eventsIn(text: string): Event[] {
  const events: Event[] = [];
  for (const m of text.matchAll(CALL_IN_TEXT)) {
    const open = (m.index ?? 0) + m[0].length - 1;
    const args = () => {
      const close = matchParen(text, open);
      return close > open ? text.slice(open + 1, close) : '';
    };
    const callText = () => {
      const call = `${m[1]}(${args()})`.replace(/\s+/g, ' ');
      return call.length > 70 ? call.slice(0, 67) + '...' : call;
    };
    const event = classify(m[1], args, callText);
    if (event) events.push(event);
  }
  return events;
}

function firstArgument(args: string): string {
  let depth = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) return normaliseLock(args.slice(0, i));
  }
  return normaliseLock(args);
}

function normaliseLock(expression: string): string {
  return expression.replace(/\s+/g, '').replace(/^&/, '');
}

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
export function lockContexts(body: SyntaxNode, original: string): Map<number, SiteContext> {
  const states = new Map<number, Held[]>();
  const gotoStates = new Map<string, State>();
  const record = (offset: number, state: State) => {
    if (state && state.length > 0 && !states.has(offset)) states.set(offset, state);
  };
  const text = (node: SyntaxNode | null) => (node ? original.slice(node.startIndex, node.endIndex) : '');
  const run = (state: Held[], source: string) => eventsIn(source).reduce(apply, state);

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
        const afterCondition = run(live, text(s.childForFieldName('condition')));
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
        else for (const field of ['initializer', 'condition']) head = run(head, text(s.childForFieldName(field)));
        const bodyNode = s.childForFieldName('body');
        const out = bodyNode ? walkStatement(bodyNode, head, blockStart) : head;
        return (out ?? live).filter((h) => h.scope !== s.startIndex);
      }
      case 'do_statement': {
        const bodyNode = s.childForFieldName('body');
        const out = bodyNode ? walkStatement(bodyNode, live, blockStart) : live;
        return out === null ? live : run(out, text(s.childForFieldName('condition')));
      }
      case 'switch_statement': {
        const afterCondition = run(live, text(s.childForFieldName('condition')));
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
        const after = run(live, text(s));
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
