import { firstFrom } from '../parse/lines.js';
import type { SyntaxNode } from '../parse/syntax-tree.js';
import { elseBodyOf, type Site } from './plan.js';
import { LOOP_TYPES, statementList } from './statements.js';

const siteOffset = (site: Site) => site.offset;

const TRANSPARENT = new Set(['labeled_statement', 'preproc_if', 'preproc_ifdef', 'preproc_else', 'preproc_elif', 'preproc_elifdef']);

/**
 * For each site of one function, the sites that can print next with no other breadcrumb of this
 * function in between: the first breadcrumb of each arm a statement can enter, the one after it, the loop
 * head when a loop body ends, a goto's label. Calls into other functions are added by the caller.
 * A static over-approximation: it says where to look when a breadcrumb never printed.
 */
export function computeNext(sites: Site[], body: SyntaxNode): number[][] {
  const firstIn = (node: SyntaxNode, after: number): number | undefined => {
    for (let j = after + 1; j < sites.length; j++) {
      if (sites[j].offset >= node.endIndex) return undefined;
      if (sites[j].offset >= node.startIndex) return j;
    }
    return undefined;
  };
  /** First site at or after `offset` and before `end` (sites are sorted by offset). */
  const firstSiteFrom = (offset: number, end: number): number | undefined => {
    const at = firstFrom(sites, offset, siteOffset);
    return at < sites.length && sites[at].offset < end ? at : undefined;
  };

  /** Sites that can print after `statement` completes normally. */
  const follow = (statement: SyntaxNode): number[] => {
    const out: number[] = [];
    let current = statement;
    for (;;) {
      let parent = current.parent;
      while (parent && TRANSPARENT.has(parent.type)) {
        current = parent;
        parent = parent.parent;
      }
      if (!parent) return out;
      if (parent.type === 'compound_statement' || parent.type === 'case_statement') {
        const j = firstSiteFrom(current.endIndex, parent.endIndex);
        if (j !== undefined) return [...out, j];
        if (parent.startIndex === body.startIndex) return out;
        if (parent.type === 'case_statement') {
          const switchBody = parent.parent;
          const fallthrough = switchBody && firstSiteFrom(parent.endIndex, switchBody.endIndex);
          if (fallthrough !== undefined && fallthrough !== null) out.push(fallthrough);
          current = switchBody?.parent ?? parent;
          continue;
        }
        current = parent;
      } else if (parent.type === 'else_clause') {
        current = parent.parent ?? parent;
      } else if (parent.type === 'if_statement') {
        current = parent;
      } else if (LOOP_TYPES.has(parent.type)) {
        const loopBody = parent.childForFieldName('body');
        const head = loopBody && firstSiteFrom(loopBody.startIndex, loopBody.endIndex);
        if (head !== undefined && head !== null) out.push(head);
        current = parent;
      } else {
        return out;
      }
    }
  };

  const enclosing = (node: SyntaxNode, types: Set<string>): SyntaxNode | undefined => {
    for (let p = node.parent; p && p.startIndex >= body.startIndex; p = p.parent) if (types.has(p.type)) return p;
    return undefined;
  };

  let labels: Map<string, number> | undefined;
  const labelTarget = (name: string): number[] => {
    labels ??= new Map(
      body.descendantsOfType('labeled_statement').map((l) => [l.childForFieldName('label')?.text ?? '', l.startIndex]),
    );
    const at = labels.get(name);
    const j = at === undefined ? undefined : firstSiteFrom(at, body.endIndex);
    return j === undefined ? [] : [j];
  };

  const successors = (i: number): number[] => {
    const site = sites[i];
    const s = site.node;
    if (site.atClose) return site.kind === 'entry' || site.kind === 'exit' ? [] : follow(s);
    const orFollow = (j: number | undefined) => (j === undefined ? follow(s) : [j]);
    switch (s.type) {
      case 'return_statement':
        return [];
      case 'goto_statement':
        return labelTarget(s.childForFieldName('label')?.text ?? '');
      case 'break_statement': {
        const target = enclosing(s, new Set([...LOOP_TYPES, 'switch_statement']));
        return target ? follow(target) : [];
      }
      case 'continue_statement': {
        const loop = enclosing(s, LOOP_TYPES);
        const loopBody = loop?.childForFieldName('body');
        return loop && loopBody ? [...orFollowOf(firstSiteFrom(loopBody.startIndex, loopBody.endIndex)), ...follow(loop)] : [];
      }
      case 'if_statement': {
        // Every arm of an else-if chain can come next, and the statement after the chain.
        const arms: number[] = [];
        for (let branch: SyntaxNode | null = s; branch; ) {
          const consequence = branch.childForFieldName('consequence');
          if (consequence) arms.push(...orFollow(firstIn(consequence, i)));
          const elseBody = elseBodyOf(branch);
          if (!elseBody) arms.push(...follow(s));
          else if (elseBody.type !== 'if_statement') arms.push(...orFollow(firstIn(elseBody, i)));
          branch = elseBody?.type === 'if_statement' ? elseBody : null;
        }
        return arms;
      }
      case 'while_statement':
      case 'for_statement': {
        const loopBody = s.childForFieldName('body');
        const first = loopBody ? firstIn(loopBody, i) : undefined;
        return [...(first === undefined ? [] : [first]), ...follow(s)];
      }
      case 'do_statement':
      case 'compound_statement':
        return orFollow(firstIn(s, i));
      case 'switch_statement': {
        const switchBody = s.childForFieldName('body');
        const cases = switchBody ? statementList(switchBody).map(({ node }) => firstIn(node, i)) : [];
        return [...cases.filter((j): j is number => j !== undefined), ...follow(s)];
      }
      default:
        return follow(s);
    }
  };
  const orFollowOf = (j: number | undefined) => (j === undefined ? [] : [j]);

  return sites.map((_, i) => [...new Set(successors(i))]);
}
