import type { PlanRecord, SiteRecord } from '../manifest/build.js';
import type { Level } from '../manifest/schema.js';
import { columnOf, lineOf } from '../parse/lines.js';
import type { SyntaxNode } from '../parse/syntax-tree.js';
import type { ParsedFile } from './analyze.js';
import { lockContexts } from './lock-context.js';
import { computeNext } from './next-edges.js';
import { planFunction, type Edit, type Site } from './plan.js';
import { headParts, isInLoop } from './statements.js';
import { callsBetween, structTypes, syncCallsIn, syncRecords, type FoundCall } from './sync-calls.js';
import { deferredBindings, findDeferredWork, findFileScopeRegistrations, type DeferredBinding } from '../select/deferred-work.js';

export type { PlanRecord, SiteRecord } from '../manifest/build.js';

/** A function chosen for instrumenting, by its index in the file's function list. */
export interface FileChoice {
  function: number;
  reason: string;
}

/** A file's plan: what the manifest records of it (PlanRecord), and the edits that make the breadcrumbs. */
export interface FilePlan extends PlanRecord {
  /** Insertions in order; `site` indexes `sites`. */
  edits: Edit[];
  /**
   * Where a declaration the breadcrumbs need goes (--sink ring), at file scope after the includes: in
   * front of the file's first function outside any #if, or of the first instrumented function when that
   * comes earlier; and of every instrumented function under an #if before it (that #if may be off).
   */
  declarationOffsets: number[];
}

/** Plans every chosen function of one file, in source order, so numbers rise down the file. */
export function planFile(parsed: ParsedFile, choices: FileChoice[], level: Level): FilePlan {
  const plan: FilePlan = { path: parsed.path, functions: [], skipped: [], sites: [], deferred: fileBindings(parsed), edits: [], declarationOffsets: [] };
  const firstUnconditional = parsed.functions.find((f) => isUnconditional(f.node))?.node.startIndex ?? Infinity;
  let declared = false;
  const ordered = [...choices].sort((a, b) => parsed.functions[a.function].node.startIndex - parsed.functions[b.function].node.startIndex);
  for (const choice of ordered) {
    const fn = parsed.functions[choice.function];
    const refusal = fn.forbidden ?? fn.unsafe;
    if (refusal) {
      plan.skipped.push({ name: fn.name, line: fn.line, reason: refusal });
      continue;
    }
    const { sites, edits, misparsedAt } = planFunction(fn.body, level, parsed.text);
    if (misparsedAt !== undefined) {
      const reason = `misparsed at line ${lineOf(parsed.lines, misparsedAt)} (an iterator macro kcrumb does not know?)`;
      plan.skipped.push({ name: fn.name, line: fn.line, reason });
      continue;
    }
    const firstSite = plan.sites.length;
    const next = computeNext(sites, fn.body);
    const calls = syncCallsIn(fn.body, parsed.text);
    const contexts = lockContexts(fn.body, parsed.text, calls);
    let types: Map<string, string> | undefined;
    const typesOf = () => (types ??= structTypes(fn.node, parsed.text));
    sites.forEach((site, i) => {
      const record: SiteRecord = {
        line: lineOf(parsed.lines, site.offset),
        column: columnOf(parsed.text, parsed.lines, site.offset),
        kind: site.kind,
        statement: statementText(site, parsed.text),
        calls: site.calls,
        next: next[i].map((j) => firstSite + j),
      };
      // Set only when true (not spread in: object spread is slow in code that has not been optimised yet).
      if (isInLoop(site.node, fn.body, parsed.text)) record.loop = true;
      const held = contexts.get(site.offset);
      if (held) {
        record.context = held.context;
        record.heldBy = held.heldBy;
      }
      const own = site.atClose ? [] : headCalls(calls, site.node);
      if (own.length > 0) record.sync = syncRecords(own, typesOf);
      plan.sites.push(record);
    });
    for (const edit of edits) plan.edits.push(edit.type === 'crumb' ? { ...edit, site: firstSite + edit.site } : edit);
    plan.functions.push({ name: fn.name, line: fn.line, endLine: fn.endLine, reason: choice.reason, firstSite, siteCount: sites.length });
    if (!declared) {
      declared = isUnconditional(fn.node) || firstUnconditional < fn.node.startIndex;
      plan.declarationOffsets.push(declared ? Math.min(firstUnconditional, fn.node.startIndex) : fn.node.startIndex);
    }
  }
  return plan;
}

/**
 * The calls of a statement's head: what runs before any statement nested in it, where a thread whose last
 * breadcrumb this is can be stuck. A do-while's condition runs after its body (which has breadcrumbs).
 */
function headCalls(calls: readonly FoundCall[], statement: SyntaxNode): FoundCall[] {
  if (calls.length === 0 || statement.type === 'do_statement') return [];
  return headParts(statement).flatMap((part) => callsBetween(calls, part.startIndex, part.endIndex));
}

function isUnconditional(node: SyntaxNode): boolean {
  return node.parent?.type === 'translation_unit';
}

/** The statement's first line from the original text (the tree's own text is the masked one). */
function statementText(site: Site, original: string): string {
  if (site.atClose) return site.kind === 'exit' ? '} (end of function)' : '} (empty block)';
  const newline = original.indexOf('\n', site.offset);
  const lineEnd = newline < 0 || newline > site.node.endIndex ? site.node.endIndex : newline;
  const firstLine = original.slice(site.offset, Math.min(lineEnd, site.offset + 400)).replace(/\s+/g, ' ').trim();
  return firstLine.length > 120 ? firstLine.slice(0, 117) + '...' : firstLine;
}

/** Every handler the file binds to a work item, timer, tasklet or thread, selected or not (the manifest's `deferred`). */
function fileBindings(parsed: ParsedFile): DeferredBinding[] {
  const edges = [...parsed.functions.flatMap((fn) => findDeferredWork(fn.node, fn.body)), ...findFileScopeRegistrations(parsed.text)];
  return deferredBindings(edges, (offset) => lineOf(parsed.lines, offset));
}
