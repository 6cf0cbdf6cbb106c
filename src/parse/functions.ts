import type { SyntaxNode } from './syntax-tree.js';
import { lineOf, type LineIndex } from './lines.js';
import { nmiHandlers } from './never-instrument.js';

/** A function definition found in one file. */
export interface FunctionDef {
  name: string;
  node: SyntaxNode;
  body: SyntaxNode;
  /** 1-based line of the name, and of the closing brace. */
  line: number;
  endLine: number;
  /** Why this function cannot be instrumented safely, if it cannot. */
  unsafe?: string;
  /** Annotations that forbid instrumenting (noinstr and friends), read from the original text. */
  forbidden?: string;
}

/** Words on a function's head that mean printk must not run there (objtool rejects calls out of them). */
const FORBIDDEN_ANNOTATION = /\b(noinstr|__cpuidle)\b/;

/** Every function definition at file scope (and inside preprocessor conditionals at file scope). */
export function findFunctions(root: SyntaxNode, original: string, lines: LineIndex): FunctionDef[] {
  const found: FunctionDef[] = [];
  const nmi = nmiHandlers(original);
  const visit = (node: SyntaxNode) => {
    for (const child of node.namedChildren) {
      if (child.type === 'function_definition') {
        const def = describeFunction(child, original, lines);
        if (def) def.forbidden ??= nmi(def.name);
        if (def) found.push(def);
      } else if (child.type === 'compound_statement') {
        const def = headlessBody(child, original, lines);
        if (def) found.push(def);
      } else if (child.type.startsWith('preproc_') || child.type === 'linkage_specification' || child.type === 'declaration_list' || child.type === 'ERROR') {
        visit(child);
      } else {
        // A body swallowed by a misparse before it (`struct s { REG(a) REG(b) };`, macros with no `;`).
        for (const body of outermost(child.descendantsOfType(['function_definition', 'compound_statement']))) {
          const def = headlessBody(body.childForFieldName('body') ?? body, original, lines);
          if (def) found.push(def);
        }
      }
    }
  };
  visit(root);
  return found;
}

/** The nodes of a document-ordered list that are not inside an earlier one. */
function outermost(nodes: SyntaxNode[]): SyntaxNode[] {
  let end = -1;
  return nodes.filter((node) => {
    if (node.startIndex < end) return false;
    end = node.endIndex;
    return true;
  });
}

function describeFunction(node: SyntaxNode, original: string, lines: LineIndex): FunctionDef | undefined {
  const body = node.childForFieldName('body');
  if (!body) return undefined;
  const nameNode = functionNameNode(node);
  const name = nameNode?.text ?? macroDefinedName(node);
  if (!name) return headlessBody(body, original, lines);
  const def: FunctionDef = {
    name,
    node,
    body,
    line: lineOf(lines, (nameNode ?? node).startIndex),
    endLine: lineOf(lines, body.endIndex - 1),
  };
  const head = original.slice(node.startIndex, body.startIndex);
  const forbidden = FORBIDDEN_ANNOTATION.exec(head);
  if (forbidden) def.forbidden = `${forbidden[1]} function: a call to printk from it is not allowed`;
  if (body.hasError) def.unsafe = findUnsafe(body, lines);
  return def;
}

/**
 * A body whose head the parser did not read (split by the preprocessor in a way mask.ts does not undo, or
 * swallowed by a misparse before it): named from the text before it, and skipped, never dropped silently.
 */
function headlessBody(body: SyntaxNode, original: string, lines: LineIndex): FunctionDef | undefined {
  const before = original.slice(Math.max(0, body.startIndex - 2000), body.startIndex);
  const head = before.slice(Math.max(before.lastIndexOf(';'), before.lastIndexOf('}')) + 1);
  const names = [...head.matchAll(/([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]).filter((n) => !/^(?:if|ifdef|ifndef|elif|defined|KERNEL_VERSION|__attribute__|for|while|switch|return|sizeof)$/.test(n));
  // No name before it: a block of a function whose braces the preprocessor split, skipped as a whole already.
  if (names.length === 0) return undefined;
  const line = lineOf(lines, body.startIndex);
  return {
    name: names[0],
    node: body,
    body,
    line,
    endLine: lineOf(lines, body.endIndex - 1),
    unsafe: `body at line ${line} has a header kcrumb cannot read (split by the preprocessor?)`,
  };
}

/** `SHOW(bch_stats) {` (a macro that expands to a function's head): named as written, `SHOW(bch_stats)`. */
function macroDefinedName(def: SyntaxNode): string | undefined {
  const type = def.childForFieldName('type');
  const declarator = def.childForFieldName('declarator');
  if (type?.type !== 'type_identifier' || declarator?.type !== 'parenthesized_declarator') return undefined;
  return `${type.text}${declarator.text.replace(/\s+/g, ' ')}`;
}

/** The identifier a function_definition declares, through pointer and parenthesised declarators. */
export function functionNameNode(def: SyntaxNode): SyntaxNode | undefined {
  let d: SyntaxNode | null = def.childForFieldName('declarator');
  while (d && d.type !== 'function_declarator') d = d.childForFieldName('declarator');
  let name = d?.childForFieldName('declarator') ?? null;
  while (name && name.type === 'parenthesized_declarator') name = name.namedChild(0);
  return name && name.type === 'identifier' ? name : undefined;
}

/**
 * A reason to skip the function, or undefined when its parse errors are harmless: an ERROR that stays
 * inside one expression (a type passed to container_of or max_t) does not move any statement boundary.
 */
function findUnsafe(body: SyntaxNode, lines: LineIndex): string | undefined {
  const nested = body.descendantsOfType('function_definition')[0];
  if (nested) return `misparsed at line ${lineOf(lines, nested.startIndex)} (an unknown iterator macro?)`;
  let reason: string | undefined;
  const walk = (node: SyntaxNode) => {
    if (reason || !node.hasError) return;
    if (node.isMissing) {
      reason = `parse error at line ${lineOf(lines, node.startIndex)} (missing ${node.type})`;
      return;
    }
    if (node.type === 'ERROR') {
      const parent = node.parent;
      const crossesStatements = /[;{}]/.test(node.text);
      const atStatementLevel = parent?.type === 'compound_statement' || parent?.type === 'case_statement';
      if (crossesStatements || atStatementLevel) {
        reason = `parse error at line ${lineOf(lines, node.startIndex)} that crosses statements`;
        return;
      }
    }
    for (const child of node.children) walk(child);
  };
  walk(body);
  return reason;
}
