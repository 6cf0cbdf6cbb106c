import type { SyntaxNode } from '../parse/syntax-tree.js';
import type { CrumbKind, Level } from '../manifest/schema.js';
import {
  callsInHead,
  endsControlFlow,
  isDeclarationLike,
  isEmptyStatement,
  leadingDeclarations,
  statementList,
  unlabel,
  type ListItem,
} from './statements.js';

/** A place that gets a breadcrumb, as an offset into the original text. */
export interface Site {
  offset: number;
  kind: CrumbKind;
  /** The statement the breadcrumb precedes, or the block whose closing brace it precedes. */
  node: SyntaxNode;
  /** True when the breadcrumb sits just before a closing brace rather than before a statement. */
  atClose: boolean;
  /** Functions the statement calls before any statement nested in it (for the `next` edges). */
  calls: string[];
}

/** One insertion, in the order it must appear at its offset. */
export type Edit =
  | { type: 'crumb'; offset: number; site: number }
  | { type: 'open-brace'; offset: number }
  | { type: 'close-brace'; offset: number };

export interface FunctionPlan {
  sites: Site[];
  edits: Edit[];
  /**
   * Offset of a function definition found among the statements: tree-sitter's reading of an unknown
   * one-argument iterator macro (`my_for_each(x) {`). The plan must not be used then.
   */
  misparsedAt?: number;
}

/** Which kinds of breadcrumb each level places. */
const KINDS_BY_LEVEL: Record<Level, ReadonlySet<CrumbKind>> = {
  functions: new Set(['entry', 'return', 'exit']),
  branches: new Set(['entry', 'return', 'exit', 'branch', 'loop', 'case', 'label']),
  'every-line': new Set(['entry', 'return', 'exit', 'branch', 'loop', 'case', 'label', 'statement']),
};

type Role = 'entry' | 'branch' | 'loop' | 'case' | undefined;

/**
 * Plans every breadcrumb of one function body. Rules that keep the program's meaning and its warnings:
 * - a breadcrumb only ever goes immediately before a statement that is not a declaration (so it never
 *   adds a -Wdeclaration-after-statement warning, also inside #if branches), or before a closing brace;
 * - an unbraced if/else/loop body that gets a breadcrumb is wrapped in braces together with it;
 *   `else if` chains are left alone;
 * - after a label or a case, the breadcrumb goes after the label, where a jump lands;
 * - nothing goes inside expressions (statement expressions included) or macro definitions, because the
 *   walk only descends into statement bodies.
 */
export function planFunction(body: SyntaxNode, level: Level, original: string): FunctionPlan {
  const wanted = KINDS_BY_LEVEL[level];
  const sites: Site[] = [];
  const edits: Edit[] = [];
  let misparsedAt: number | undefined;

  const addSite = (offset: number, kind: CrumbKind, node: SyntaxNode, atClose: boolean) => {
    sites.push({ offset, kind, node, atClose, calls: atClose ? [] : callsInHead(node, original) });
    edits.push({ type: 'crumb', offset, site: sites.length - 1 });
  };

  /** The kind a breadcrumb right before `statement` would have, or undefined when the level wants none. */
  const kindBefore = (statement: SyntaxNode, role: Role): CrumbKind | undefined => {
    const inner = unlabel(statement);
    if (isDeclarationLike(inner)) return undefined;
    const candidates: (CrumbKind | undefined)[] = [
      role,
      inner.type === 'return_statement' ? 'return' : undefined,
      inner !== statement ? 'label' : undefined,
      isEmptyStatement(inner) && role === undefined ? undefined : 'statement',
    ];
    return candidates.find((kind) => kind !== undefined && wanted.has(kind));
  };

  const visitStatement = (statement: SyntaxNode, role: Role) => {
    const kind = kindBefore(statement, role);
    const inner = unlabel(statement);
    if (kind) addSite(inner.startIndex, kind, inner, false);
    visitInside(inner);
  };

  /**
   * The role (entry, branch, ...) goes to the first statement; when that one sits in an #if branch, the
   * first statement of every branch before the first unconditional statement gets it, so that whichever
   * branch is compiled, the role's breadcrumb is there.
   */
  const visitList = (items: ListItem[], role: Role) => {
    let any = false;
    let roleTaken = false;
    const branchesWithRole = new Set<number>();
    const declarations = leadingDeclarations(items);
    for (const [index, { node, conditional, branch }] of items.entries()) {
      if (node.type === 'function_definition') misparsedAt ??= node.startIndex;
      if (index < declarations || isDeclarationLike(unlabel(node))) continue;
      let itemRole: Role;
      if (role && !roleTaken && !branchesWithRole.has(branch)) {
        itemRole = role;
        if (conditional) branchesWithRole.add(branch);
        else roleTaken = true;
      }
      visitStatement(node, itemRole);
      any = true;
    }
    return any;
  };

  /** The body of an if/else arm or a loop. */
  const visitArm = (body: SyntaxNode, role: Role) => {
    if (body.type === 'compound_statement') {
      const hasStatements = visitList(statementList(body), role);
      if (!hasStatements && role && wanted.has(role)) addSite(body.endIndex - 1, role, body, true);
      return;
    }
    if (kindBefore(body, role)) {
      edits.push({ type: 'open-brace', offset: body.startIndex });
      visitStatement(body, role);
      edits.push({ type: 'close-brace', offset: body.endIndex });
    } else {
      visitInside(unlabel(body));
    }
  };

  const visitInside = (statement: SyntaxNode) => {
    switch (statement.type) {
      case 'compound_statement':
        visitList(statementList(statement), undefined);
        break;
      case 'if_statement': {
        const consequence = statement.childForFieldName('consequence');
        if (consequence) visitArm(consequence, 'branch');
        const elseBody = elseBodyOf(statement);
        if (elseBody?.type === 'if_statement') visitInside(elseBody);
        else if (elseBody) visitArm(elseBody, 'branch');
        break;
      }
      case 'while_statement':
      case 'for_statement':
      case 'do_statement': {
        const body = statement.childForFieldName('body');
        if (body) visitArm(body, 'loop');
        break;
      }
      case 'switch_statement': {
        const body = statement.childForFieldName('body');
        if (!body) break;
        for (const { node } of statementList(body)) {
          if (node.type === 'case_statement') visitList(statementList(node), 'case');
          else visitStatement(node, undefined);
        }
        break;
      }
    }
  };

  // The function body: entry breadcrumb after the leading declarations, exit before the closing brace.
  const items = statementList(body);
  const hasStatements = visitList(items, 'entry');
  if (!hasStatements) addSite(body.endIndex - 1, 'entry', body, true);
  const last = lastStatement(items);
  if (hasStatements && wanted.has('exit') && (!last || !endsControlFlow(last))) {
    addSite(body.endIndex - 1, 'exit', body, true);
  }

  // Stable: at one offset, edits keep the order the walk made them (open, crumb, ..., inner close, outer close).
  const order = edits.map((edit, index) => ({ edit, index }));
  order.sort((a, b) => a.edit.offset - b.edit.offset || a.index - b.index);
  return { sites, edits: order.map((o) => o.edit), misparsedAt };
}

export function elseBodyOf(ifStatement: SyntaxNode): SyntaxNode | null {
  const alternative = ifStatement.childForFieldName('alternative');
  if (!alternative) return null;
  return alternative.type === 'else_clause' ? alternative.namedChild(alternative.namedChildCount - 1) : alternative;
}

function lastStatement(items: ListItem[]): SyntaxNode | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    if (!items[i].conditional && !isDeclarationLike(items[i].node)) return items[i].node;
  }
  return undefined;
}
