/**
 * The lock and wait calls of one function, read from its syntax tree against the shared vocabulary
 * (vocabulary/sync.ts): what lock-context.ts follows through the function, and what the manifest records
 * for each breadcrumb's statement.
 */
import type { ManifestSyncOp } from '../manifest/schema.js';
import { firstFrom } from '../parse/lines.js';
import type { SyntaxNode } from '../parse/syntax-tree.js';
import { lockWrapper, normalizeLockExpression, syncCall, type SyncCall, type SyncOperation } from '../vocabulary/sync.js';

/** One call found: a table entry, or a driver's lock wrapper known by name (entry undefined). */
export interface FoundCall {
  name: string;
  operation: SyncOperation;
  entry?: SyncCall;
  start: number;
  end: number;
  /** The object's expression, normalised (`rc->lock` for `&rc->lock`); '' for a call on no object. */
  object: string;
  /** The call as written, whitespace folded and shortened: `spin_lock_irqsave(&rc->lock, flags)`. */
  text: string;
}

/** Every lock and wait call of `body`, in source order. */
export function syncCallsIn(body: SyntaxNode, original: string): FoundCall[] {
  const found: FoundCall[] = [];
  for (const call of body.descendantsOfType('call_expression')) {
    const callee = call.childForFieldName('function');
    if (callee?.type !== 'identifier') continue; // ops->lock(x): an unknown target
    const name = original.slice(callee.startIndex, callee.endIndex);
    const entry = syncCall(name);
    const wrapper = entry ? undefined : lockWrapper(name);
    if (!entry && !wrapper) continue;
    const argumentList = call.childForFieldName('arguments');
    const args = argumentList ? argumentList.namedChildren.filter((a) => a.type !== 'comment').map((a) => original.slice(a.startIndex, a.endIndex)) : [];
    const objectArgs = entry?.object === 'none' ? [] : entry?.object === 'first-two' ? args.slice(0, 2) : args.slice(0, 1);
    const object = objectArgs.map(normalizeLockExpression).join(',');
    if (!entry && object === '') continue; // a wrapper names its lock by its argument
    const written = `${name}${argumentList ? original.slice(argumentList.startIndex, argumentList.endIndex) : '()'}`.replace(/\s+/g, ' ');
    const text = written.length > 70 ? written.slice(0, 67) + '...' : written;
    found.push({ name, operation: entry ? entry.operation : wrapper!.operation, entry, start: call.startIndex, end: call.endIndex, object, text });
  }
  return found;
}

/** The calls that start in [start, end), from a list in source order. */
export function callsBetween(calls: readonly FoundCall[], start: number, end: number): FoundCall[] {
  const out: FoundCall[] = [];
  for (let i = firstFrom(calls, start, callStart); i < calls.length && calls[i].start < end; i++) out.push(calls[i]);
  return out;
}

const callStart = (call: FoundCall) => call.start;

/**
 * The struct each identifier of the function is declared as (`struct remap_c *rc` as a parameter or a
 * local): the type a lock expression starting from it lives in. A name declared as two struct types
 * (in two blocks) has none: the reader cannot tell which one a statement sees.
 */
export function structTypes(fn: SyntaxNode, original: string): Map<string, string> {
  const seen = new Map<string, Set<string>>();
  for (const declaration of fn.descendantsOfType(['parameter_declaration', 'declaration'])) {
    const type = declaration.childForFieldName('type');
    if (type?.type !== 'struct_specifier' && type?.type !== 'union_specifier') continue;
    const tag = type.childForFieldName('name');
    if (!tag) continue;
    const typeName = `${type.type === 'struct_specifier' ? 'struct' : 'union'} ${original.slice(tag.startIndex, tag.endIndex)}`;
    for (const declarator of declaration.childrenForFieldName('declarator')) {
      const name = declaredName(declarator, original);
      if (name) (seen.get(name) ?? seen.set(name, new Set()).get(name)!).add(typeName);
    }
  }
  const types = new Map<string, string>();
  for (const [name, set] of seen) if (set.size === 1) types.set(name, [...set][0]);
  return types;
}

/** `*rc`, `rc = x`, `rc[4]`, `* const rc` -> `rc`; a function declarator has none. */
function declaredName(declarator: SyntaxNode, original: string): string | undefined {
  let node: SyntaxNode | null = declarator;
  while (node && node.type !== 'identifier') {
    if (node.type === 'function_declarator' || node.type === 'parenthesized_declarator') return undefined;
    node = node.childForFieldName('declarator');
  }
  return node ? original.slice(node.startIndex, node.endIndex) : undefined;
}

/** The record of one statement's calls for the manifest; `types` gives the struct of a base identifier. */
export function syncRecords(calls: readonly FoundCall[], types: () => Map<string, string>): ManifestSyncOp[] {
  return calls.map((call) => {
    const op: ManifestSyncOp = { call: call.name, operation: call.operation };
    if (call.object !== '') {
      op.object = call.object;
      const base = /^[A-Za-z_]\w*/.exec(call.object)?.[0];
      const type = base === undefined ? undefined : types().get(base);
      if (type) op.type = type;
    }
    return op;
  });
}
