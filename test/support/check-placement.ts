import type { SyntaxNode } from '../../src/parse/syntax-tree.js';
import { INSERTED_SPAN } from '../../src/breadcrumb.js';
import type { Manifest } from '../../src/manifest/schema.js';
import { parseC } from '../../src/parse/c-parser.js';
import { maskKernelSyntax } from '../../src/parse/mask.js';

const PREPROC = /^preproc_(if|ifdef|else|elif|elifdef)$/;
const LOOPS = new Set(['while_statement', 'for_statement', 'do_statement']);

/**
 * Re-parses an instrumented file and checks, in the new tree, that every breadcrumb is a statement of a
 * block (never a loop's or if's body on its own), that a loop or branch breadcrumb sits inside the loop
 * or branch its kind names, and that the statement it was meant to precede really follows it.
 * Returns one message per breadcrumb that fails.
 */
export async function checkPlacement(instrumented: string, manifest: Manifest, fileIndex: number): Promise<string[]> {
  const root = await parseC(maskKernelSyntax(instrumented).masked);
  const problems: string[] = [];
  for (const crumb of manifest.crumbs.filter((c) => c.file === fileIndex)) {
    // printk-like templates print the tag and number; the ring sink passes the number to kcrumb_ring_record
    const literal = `"${manifest.tag}#${crumb.id}@`;
    const ring = new RegExp(`kcrumb_ring_record(?:_task)?\\(0x[0-9a-f]+u, ${crumb.id}\\);`).exec(instrumented);
    const at = instrumented.includes(literal) ? instrumented.indexOf(literal) : (ring?.index ?? -1);
    const where = `#${crumb.id} (${crumb.function}, line ${crumb.line}, ${crumb.kind})`;
    if (at < 0) {
      problems.push(`${where}: not in the text`);
      continue;
    }
    // the breadcrumb's statement is what its span opens with (with --loop-limit, a block around the printk)
    const start = instrumented.lastIndexOf('/*<kc*/', at) + '/*<kc*/'.length;
    let statement: SyntaxNode | null = root.descendantForIndex(at);
    while (statement && statement.type !== 'expression_statement') statement = statement.parent;
    const end = instrumented.indexOf('/*kc>*/', at);
    while (statement?.parent && statement.parent.startIndex >= start && statement.parent.endIndex <= end) statement = statement.parent;
    let block = statement?.parent ?? null;
    while (block && (PREPROC.test(block.type) || block.type === 'labeled_statement')) block = block.parent;
    if (!statement || !block || (block.type !== 'compound_statement' && block.type !== 'case_statement')) {
      problems.push(`${where}: not a statement of a block (parent ${block?.type})`);
      continue;
    }
    const owner = block.parent;
    if (crumb.kind === 'loop' && !(owner && LOOPS.has(owner.type))) problems.push(`${where}: not inside a loop body (in ${owner?.type})`);
    if (crumb.kind === 'branch' && !(owner && (owner.type === 'if_statement' || owner.type === 'else_clause'))) {
      problems.push(`${where}: not inside an if/else arm (in ${owner?.type})`);
    }
    if (crumb.kind === 'case' && block.type !== 'case_statement') problems.push(`${where}: not inside a case (in ${block.type})`);
    const close = instrumented.indexOf('/*kc>*/', at);
    const follower = instrumented.slice(close + 7, close + 7 + 400).replace(INSERTED_SPAN, '').replace(/\s+/g, ' ');
    const expected = crumb.statement.startsWith('}') ? '}' : crumb.statement.slice(0, 20);
    if (!follower.trimStart().startsWith(expected.slice(0, Math.min(expected.length, 20)))) {
      problems.push(`${where}: followed by ${JSON.stringify(follower.slice(0, 40))} instead of ${JSON.stringify(expected)}`);
    }
  }
  return problems;
}

/** How many ERROR nodes tree-sitter finds in a file (masked as instrument masks it): instrumenting must add none. */
export async function errorCount(text: string): Promise<number> {
  const root = await parseC(maskKernelSyntax(text).masked);
  return root.descendantsOfType('ERROR').length;
}
