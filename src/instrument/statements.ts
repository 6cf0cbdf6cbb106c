import type { SyntaxNode } from '../parse/syntax-tree.js';

/** What tree-sitter-c calls the nodes the planner reasons about. */
export const LOOP_TYPES = new Set(['while_statement', 'for_statement', 'do_statement']);
const PREPROC_BLOCKS = new Set(['preproc_if', 'preproc_ifdef', 'preproc_else', 'preproc_elif', 'preproc_elifdef']);
const NOT_STATEMENTS = new Set(['comment', 'preproc_def', 'preproc_function_def', 'preproc_call', 'preproc_include']);

/**
 * Macros that look like calls but declare something (`LIST_HEAD(l);`, `DEFINE_WAIT(w);`,
 * `guard(mutex)(&m);`): a breadcrumb before them would be a statement before a declaration.
 */
const DECLARATION_MACRO =
  /DECLARE_|DEFINE_|_ON_?STACK$|^(?:LIST_HEAD|HLIST_HEAD|LLIST_HEAD|XA_STATE|XA_STATE_ORDER|MA_STATE|VMA_ITERATOR|guard|CLASS|static_assert|_Static_assert)$/;

/** An all-capitals macro call used as a statement: it may expand to a declaration. */
const CAPITALS_MACRO = /^[A-Z][A-Z0-9_]*$/;

/** Calls after which control never comes back: no exit breadcrumb after them. */
const NO_RETURN_CALLS = /^(?:BUG|panic|do_exit|kthread_exit|kthread_complete_and_exit|unreachable|__builtin_unreachable|machine_halt|emergency_restart)$/;

export interface ListItem {
  node: SyntaxNode;
  /** True when the item sits inside a preprocessor conditional of the list. */
  conditional: boolean;
  /** Start offset of the innermost #if/#else branch holding the item (-1 outside any). */
  branch: number;
}

/**
 * The statements of a block or of a case, in order, with preprocessor conditionals opened up:
 * `#ifdef X stmt; #endif` contributes `stmt` (marked conditional), so statements inside `#if` get
 * breadcrumbs of their own, in their own branch of the conditional.
 */
export function statementList(container: SyntaxNode): ListItem[] {
  // The planner, the next edges and the lock contexts all ask for the same lists.
  let items = listsByNode.get(container);
  if (items) return items;
  items = [];
  listsByNode.set(container, items);
  const skipFirst = container.type === 'case_statement' ? caseBodyStart(container) : 0;
  const add = (node: SyntaxNode, conditional: boolean, branch: number) => {
    // A preprocessor block's condition (#if X) or name (#ifdef X) is not a statement.
    const head = PREPROC_BLOCKS.has(node.type) ? (node.childForFieldName('condition') ?? node.childForFieldName('name')) : null;
    for (const child of node.namedChildren) {
      if (child.startIndex < skipFirst || (head && child.startIndex === head.startIndex)) continue;
      if (PREPROC_BLOCKS.has(child.type)) add(child, true, child.startIndex);
      else if (!NOT_STATEMENTS.has(child.type)) items!.push({ node: child, conditional, branch });
    }
  };
  add(container, false, -1);
  return items;
}

const listsByNode = new WeakMap<SyntaxNode, ListItem[]>();

/** Offset just after a case label's colon: the statements of the case start there. */
function caseBodyStart(caseNode: SyntaxNode): number {
  for (const child of caseNode.children) if (child.type === ':') return child.endIndex;
  return caseNode.startIndex;
}

export function isDeclarationLike(node: SyntaxNode): boolean {
  // `enum { N = 8 };` and `union u { ... };` in a body are declarations too (random.c's try_to_generate_entropy).
  if (node.type === 'declaration' || node.type === 'type_definition' || node.type === 'struct_specifier' || node.type === 'enum_specifier' || node.type === 'union_specifier') return true;
  if (node.type !== 'expression_statement') return false;
  const name = calleeName(node.namedChild(0));
  return name !== undefined && DECLARATION_MACRO.test(name);
}

/**
 * How many items at the start of a list are declarations. An all-capitals macro call that comes before
 * a real declaration counts as one too (`CEPH_DEFINE_OID_ONSTACK(oid); int r;`): either it declares
 * something, or the original already mixes code and declarations there; a breadcrumb before it could
 * only add a warning, never remove one.
 */
export function leadingDeclarations(items: ListItem[]): number {
  let count = 0;
  for (let i = 0; i < items.length; i++) {
    const node = unlabel(items[i].node);
    if (isDeclarationLike(node)) count = i + 1;
    else if (!isCapitalsMacroStatement(node)) break;
  }
  return count;
}

function isCapitalsMacroStatement(node: SyntaxNode): boolean {
  if (node.type !== 'expression_statement') return false;
  const name = calleeName(node.namedChild(0));
  return name !== undefined && CAPITALS_MACRO.test(name);
}

/** `;` alone. */
export function isEmptyStatement(node: SyntaxNode): boolean {
  return node.type === 'expression_statement' && node.namedChildCount === 0;
}

/** For `f(x)` the name `f`; for `guard(m)(&l)` the innermost name `guard`. */
export function calleeName(node: SyntaxNode | null): string | undefined {
  let fn = node;
  while (fn && fn.type === 'call_expression') fn = fn.childForFieldName('function');
  return fn && fn !== node && fn.type === 'identifier' ? fn.text : undefined;
}

/** Follows `a: b: stmt` to `stmt`. */
export function unlabel(node: SyntaxNode): SyntaxNode {
  let inner = node;
  while (inner.type === 'labeled_statement') {
    const next = inner.namedChild(inner.namedChildCount - 1);
    if (!next || next.type === 'statement_identifier') break;
    inner = next;
  }
  return inner;
}

/** Does control never flow past this statement (return, goto, BUG(), panic())? */
export function endsControlFlow(node: SyntaxNode): boolean {
  const inner = unlabel(node);
  if (inner.type === 'return_statement' || inner.type === 'goto_statement') return true;
  if (inner.type === 'expression_statement') {
    const name = calleeName(inner.namedChild(0));
    return name !== undefined && NO_RETURN_CALLS.test(name);
  }
  return false;
}

/**
 * Names the statement calls in its own text, not in the statements nested in it: every `name (` in the
 * head's source text. Read from text because walking the tree for every statement costs more than the
 * parse; a macro or keyword that slips in is harmless, only names of instrumented functions are used.
 */
export function callsInHead(statement: SyntaxNode, original: string): string[] {
  const names: string[] = [];
  for (const part of headParts(statement)) {
    const text = original.slice(part.startIndex, part.endIndex);
    for (const m of text.matchAll(CALL_IN_TEXT)) if (!KEYWORDS_BEFORE_PAREN.has(m[1])) names.push(m[1]);
  }
  return names;
}

/** `name (`, starting only at the start of a word (a match tried inside every word is quadratic). */
export const CALL_IN_TEXT = /(?<![\w$])([A-Za-z_]\w*)\s*\(/g;
const KEYWORDS_BEFORE_PAREN = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', 'alignof', '_Alignof', 'defined', 'asm', '__asm__', 'volatile', '__attribute__']);

/** The parts of a statement that run before any statement nested in it. */
export function headParts(statement: SyntaxNode): SyntaxNode[] {
  const fields = HEAD_FIELDS[statement.type];
  if (!fields) return [statement];
  return fields.map((field) => statement.childForFieldName(field)).filter((n): n is SyntaxNode => n !== null);
}

const HEAD_FIELDS: Record<string, string[]> = {
  if_statement: ['condition'],
  while_statement: ['condition'],
  do_statement: ['condition'],
  switch_statement: ['condition'],
  for_statement: ['initializer', 'condition', 'update'],
  compound_statement: [],
  labeled_statement: [],
  case_statement: [],
};

/**
 * Is `node` (a statement, or a block whose closing brace gets a breadcrumb) inside a loop body of the
 * function? Iterator macros count (they are masked to `while`); `scoped_guard` and `do { } while (0)` run
 * their body once and do not.
 */
export function isInLoop(node: SyntaxNode, body: SyntaxNode, original: string): boolean {
  for (let p = node.parent; p && p.startIndex >= body.startIndex && p.endIndex <= body.endIndex; p = p.parent) {
    if (!LOOP_TYPES.has(p.type)) continue;
    if (/^scoped(?:_cond)?_guard\b/.test(original.slice(p.startIndex, p.startIndex + 20))) continue;
    if (p.type === 'do_statement' && /^\(\s*0\s*\)$/.test(p.childForFieldName('condition')?.text ?? '')) continue;
    return true;
  }
  return false;
}
