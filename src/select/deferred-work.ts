/**
 * Deferred work is part of the path: a work item, timer, tasklet or kthread that a selected function
 * queues or arms runs its handler later, on another stack, and a freeze is as likely there. The handler is
 * tied to what is queued by the member name of the work expression (`&io->work` -> `work`,
 * `&dc->delay_timer` -> `delay_timer`, `cc->write_thread` -> `write_thread`), across functions and files:
 *
 *   INIT_WORK(&io->work, kcryptd_crypt);           registers `work` -> kcryptd_crypt
 *   queue_work(cc->crypt_queue, &io->work);        arms `work`
 *   call_rcu(&x->rcu, free_x);                     registers and arms at once
 *   dm_kcopyd_copy(kc, ..., copy_complete, m);     a callback passed as a function pointer
 *   bio->bi_end_io = crypt_endio;                  a callback stored in a field
 *
 * Read from the tree of one function; matched across files by select-functions.ts. Kept as plain data
 * (it crosses threads).
 */
import type { ManifestDeferred } from '../manifest/schema.js';
import type { SyntaxNode } from '../parse/syntax-tree.js';
import { FILE_SCOPE_REGISTRATIONS, registrationCall, type DeferredKind } from '../vocabulary/hooks.js';

export interface DeferredEdge {
  /**
   * register: `handler` runs when `key` is queued or armed; arm: queues or arms `key`;
   * direct: `handler` runs because of this call (call_rcu, kthread_run, a callback argument or field).
   */
  type: 'register' | 'arm' | 'direct';
  /** The call that made the edge (`INIT_WORK`, `queue_work`, `DECLARE_WORK`), `.function` or `.field =` for a store. */
  call: string;
  /** Offset of the call or store in the file. */
  offset: number;
  /** Member name of the work, timer, tasklet or thread (absent for callbacks). */
  key?: string;
  handler?: string;
  /** How the selection report shows the edge: `queue_work(meta_work)`, `.bi_end_io =`. */
  label: string;
  /** The registration call of the hook table (vocabulary/hooks.ts) that made the edge: it starts the selection too. */
  hook?: string;
}

/** Thread creation: the handler is argument 0, the key is what the result is assigned to. */
const THREAD_CREATE = /^(?:kthread_create|kthread_create_on_node|kthread_create_on_cpu|kthread_run|kthread_run_on_cpu)$/;
/** Of those, the ones that also start the thread. */
const THREAD_RUN = /^(?:kthread_run|kthread_run_on_cpu)$/;

/** Calls that queue or arm: the argument holding the work, timer, tasklet or task. */
const ARM: Record<string, number> = {
  queue_work: 1,
  queue_work_on: 2,
  queue_work_node: 2,
  queue_delayed_work: 1,
  queue_delayed_work_on: 2,
  mod_delayed_work: 1,
  mod_delayed_work_on: 2,
  queue_rcu_work: 1,
  schedule_work: 0,
  schedule_work_on: 1,
  schedule_delayed_work: 0,
  schedule_delayed_work_on: 1,
  kthread_queue_work: 1,
  kthread_queue_delayed_work: 1,
  kthread_mod_delayed_work: 1,
  mod_timer: 0,
  mod_timer_pending: 0,
  add_timer: 0,
  add_timer_on: 0,
  timer_reduce: 0,
  hrtimer_start: 0,
  hrtimer_start_range_ns: 0,
  hrtimer_start_expires: 0,
  wake_up_process: 0,
  kthread_unpark: 0,
  tasklet_schedule: 0,
  tasklet_hi_schedule: 0,
  irq_work_queue: 0,
  irq_work_queue_on: 0,
};

/** Register and arm at once: [argument holding the rcu head, argument holding the handler]. */
const REGISTER_AND_ARM: Record<string, [number, number]> = {
  call_rcu: [0, 1],
  call_rcu_hurry: [0, 1],
  call_srcu: [1, 2],
};

/** File-scope definitions that register: `static DECLARE_WORK(name, fn);`. */
const FILE_SCOPE_REGISTER = new RegExp(`\\b(${Object.keys(FILE_SCOPE_REGISTRATIONS).join('|')})\\s*\\(\\s*(\\w+)\\s*,\\s*(\\w+)\\s*[,)]`, 'g');

/** The deferred-work edges of one function, in source order. */
export function findDeferredWork(fn: SyntaxNode, body: SyntaxNode): DeferredEdge[] {
  const edges: DeferredEdge[] = [];
  const local = declaredNames(fn);
  let localValues: Map<string, string[]> | undefined;
  for (const node of body.descendantsOfType(['call_expression', 'assignment_expression'])) {
    if (!node) continue;
    const offset = node.startIndex;
    if (node.type === 'assignment_expression') {
      const edge = fieldAssignment(node, local, offset);
      if (edge) edges.push(edge);
      continue;
    }
    const callee = node.childForFieldName('function');
    if (callee?.type !== 'identifier') continue;
    const name = callee.text;
    const args = argumentsOf(node);
    const registration = registrationCall(name);
    if (registration?.key !== undefined) {
      const key = memberKey(args[registration.key]);
      const handler = functionName(args[registration.handlers[0]]);
      if (key && handler) edges.push({ type: 'register', call: name, offset, key, handler, label: `${name}(${key})`, hook: name });
      continue;
    }
    if (THREAD_CREATE.test(name)) {
      const handler = functionName(args[0]);
      if (!handler) continue;
      const assigned = node.parent?.type === 'assignment_expression' ? memberKey(node.parent.childForFieldName('left')) : undefined;
      if (assigned) edges.push({ type: 'register', call: name, offset, key: assigned, handler, label: `${name}(${assigned})`, hook: name });
      if (THREAD_RUN.test(name)) edges.push({ type: 'direct', call: name, offset, key: assigned, handler, label: `${name}(${handler})`, hook: assigned ? undefined : name });
      continue;
    }
    if (registration) {
      // request_irq, netif_napi_add...: the kernel calls the handler from interrupt or softirq context.
      for (const at of registration.handlers) {
        const handler = functionName(args[at]);
        if (!handler) continue;
        const handlers = local.has(handler) ? (localValues ??= localFunctionValues(fn, local)).get(handler) ?? [] : [handler];
        for (const h of handlers) edges.push({ type: 'direct', call: name, offset, handler: h, label: `${name}(${h})`, hook: name });
      }
      continue;
    }
    const armAt = ARM[name];
    if (armAt !== undefined) {
      const key = memberKey(args[armAt]);
      if (key) edges.push({ type: 'arm', call: name, offset, key, label: `${name}(${key})` });
      continue;
    }
    const both = REGISTER_AND_ARM[name];
    if (both) {
      const key = memberKey(args[both[0]]);
      const handler = functionName(args[both[1]]);
      if (handler) edges.push({ type: 'direct', call: name, offset, key, handler, label: `${name}(${key ?? handler})` });
      continue;
    }
    // Any other call that passes a function: a completion callback (dm-kcopyd, dm-io, dm-bufio style).
    for (const arg of args) {
      const handler = functionName(arg);
      if (handler && !local.has(handler) && handler !== name) edges.push({ type: 'direct', call: name, offset, handler, label: `${name}(callback)` });
    }
  }
  return edges;
}

/** `static DECLARE_WORK(name, fn);` and the like at file scope: registrations keyed by the variable's name. */
export function findFileScopeRegistrations(text: string): DeferredEdge[] {
  if (!/DECLARE_|DEFINE_/.test(text)) return [];
  return [...text.matchAll(FILE_SCOPE_REGISTER)].map((m) => ({
    type: 'register' as const,
    call: m[1],
    offset: m.index ?? 0,
    key: m[2],
    handler: m[3],
    label: `${m[1]}(${m[2]})`,
    hook: m[1],
  }));
}

function fileScopeKind(call: string): DeferredKind | undefined {
  return Object.hasOwn(FILE_SCOPE_REGISTRATIONS, call) ? FILE_SCOPE_REGISTRATIONS[call] : undefined;
}

/** A binding as the manifest records it, without its file. */
export type DeferredBinding = Omit<ManifestDeferred, 'file'>;

/**
 * The bindings among a file's edges: registrations (INIT_WORK, timer_setup, DECLARE_WORK, `.function =`)
 * and thread creations. They hold with or without a selection: a flush knows which function it waits for.
 */
export function deferredBindings(edges: readonly DeferredEdge[], lineOf: (offset: number) => number): DeferredBinding[] {
  const seen = new Set<string>();
  const bindings: DeferredBinding[] = [];
  for (const edge of edges) {
    const runs = edge.call === '.function' ? 'timer' : (registrationCall(edge.call)?.runs ?? fileScopeKind(edge.call));
    if (!runs || !edge.handler || edge.type === 'arm') continue;
    const binding: DeferredBinding = { call: edge.call, runs, ...(edge.key ? { member: edge.key } : {}), handler: edge.handler, line: lineOf(edge.offset) };
    const key = JSON.stringify(binding);
    if (seen.has(key)) continue;
    seen.add(key);
    bindings.push(binding);
  }
  return bindings;
}

/**
 * `x->timer.function = fn` registers fn for `timer` (hrtimers); `bio->bi_end_io = fn` and `cbs[i] = fn`
 * store a callback. Only a field or an element on the left and a plain name on the right: anything else is not a function pointer we can name.
 */
function fieldAssignment(node: SyntaxNode, local: Set<string>, offset: number): DeferredEdge | undefined {
  const left = node.childForFieldName('left');
  const handler = functionName(node.childForFieldName('right'));
  if (!handler || local.has(handler)) return undefined;
  // `callbacks[i] = virtblk_done;` then `virtio_find_vqs(..., callbacks, ...)`: a table of callbacks.
  if (left?.type === 'subscript_expression') return { type: 'direct', call: '[] =', offset, handler, label: `${memberKey(left) ?? ''}[] =` };
  if (left?.type !== 'field_expression') return undefined;
  const field = left.childForFieldName('field')?.text ?? '';
  if (field === 'function') {
    const key = memberKey(left.childForFieldName('argument'));
    if (key) return { type: 'register', call: '.function', offset, key, handler, label: `.function(${key})` };
  }
  return { type: 'direct', call: `.${field} =`, offset, handler, label: `.${field} =` };
}

function argumentsOf(call: SyntaxNode): (SyntaxNode | null)[] {
  const list = call.childForFieldName('arguments');
  return list ? list.namedChildren.filter((n) => n.type !== 'comment') : [];
}

/** Strips `&`, `*`, parentheses and casts: `&(x->work)` -> `x->work`. */
function unwrap(node: SyntaxNode | null | undefined): SyntaxNode | undefined {
  let n = node ?? undefined;
  for (;;) {
    if (!n) return undefined;
    if (n.type === 'pointer_expression' || n.type === 'parenthesized_expression') n = n.namedChild(n.namedChildCount - 1) ?? undefined;
    else if (n.type === 'cast_expression') n = n.childForFieldName('value') ?? undefined;
    else return n;
  }
}

/** The member name that identifies a work, timer or thread: `&io->work` -> `work`, `&name` -> `name`. */
export function memberKey(node: SyntaxNode | null | undefined): string | undefined {
  let n = unwrap(node);
  while (n?.type === 'subscript_expression') n = unwrap(n.childForFieldName('argument'));
  if (n?.type === 'field_expression') return n.childForFieldName('field')?.text;
  if (n?.type === 'identifier') return n.text;
  return undefined;
}

/** A plain function name (`fn`, `&fn`, `(cast)fn`); whether a function of that name exists is decided later. */
function functionName(node: SyntaxNode | null | undefined): string | undefined {
  const n = unwrap(node);
  return n?.type === 'identifier' && !/^[A-Z0-9_]+$/.test(n.text) ? n.text : undefined;
}

/** Parameters and local variables: a name passed as an argument that is one of these is no function. */
function declaredNames(fn: SyntaxNode): Set<string> {
  const names = new Set<string>();
  for (const decl of fn.descendantsOfType(['parameter_declaration', 'declaration'])) {
    for (const d of decl.childrenForFieldName('declarator')) {
      let n: SyntaxNode | null = d;
      while (n && n.type !== 'identifier') n = n.childForFieldName('declarator');
      if (n) names.add(n.text);
    }
  }
  return names;
}

/**
 * Functions a local variable of `fn` is set to: `irq_handler_t handler = e1000_intr;` and
 * `handler = e1000_intr_msi;` give handler -> [e1000_intr, e1000_intr_msi] (e1000's request_irq).
 */
function localFunctionValues(fn: SyntaxNode, local: Set<string>): Map<string, string[]> {
  const values = new Map<string, string[]>();
  const add = (variable: SyntaxNode | null, value: SyntaxNode | null) => {
    const handler = functionName(value);
    if (variable?.type !== 'identifier' || !handler || local.has(handler)) return;
    values.set(variable.text, [...(values.get(variable.text) ?? []), handler]);
  };
  for (const node of fn.descendantsOfType(['init_declarator', 'assignment_expression'])) {
    if (node.type === 'init_declarator') add(node.childForFieldName('declarator'), node.childForFieldName('value'));
    else add(node.childForFieldName('left'), node.childForFieldName('right'));
  }
  return values;
}
