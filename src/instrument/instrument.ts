import type { Tree } from 'web-tree-sitter';
import { SOURCE_CLOSE, SOURCE_OPEN } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';
import type { Level, Manifest, ManifestCrumb, ManifestFunction, SkippedFunction } from '../manifest/schema.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION } from '../manifest/schema.js';
import { sha256 } from '../manifest/hash.js';
import { parseC } from '../parse/c-parser.js';
import { findFunctions } from '../parse/functions.js';
import { columnOf, indexLines, lineOf, type LineIndex } from '../parse/lines.js';
import { maskKernelSyntax } from '../parse/mask.js';
import { indexByName, resolve, selectFunctions, type SelectableFile, type SelectOptions } from '../select/select-functions.js';
import { findTargetHooks } from '../select/target-hooks.js';
import { stripBreadcrumbs } from '../strip/strip.js';
import { VERSION } from '../version.js';
import { applyInsertions, CLOSE_BRACE_TEXT, OPEN_BRACE_TEXT, type Insertion } from './apply.js';
import { computeNext } from './next-edges.js';
import { planFunction, type FunctionPlan, type Site } from './plan.js';
import { renderCrumb, type Template } from './template.js';

export interface SourceFile {
  /** Path as it should appear in the manifest and in messages. */
  path: string;
  /** The file's bytes decoded as latin1, so every byte round-trips unchanged. */
  text: string;
}

export interface InstrumentOptions extends SelectOptions {
  level: Level;
  template: Template;
  tag: string;
  /** Absolute working directory, recorded in the manifest. */
  root: string;
  now?: Date;
}

export interface SelectedReport {
  name: string;
  path: string;
  line: number;
  reason: string;
  crumbs: number;
}

export interface InstrumentResult {
  /** New text of every file that got breadcrumbs. */
  outputs: SourceFile[];
  manifest: Manifest;
  selected: SelectedReport[];
  skipped: (SkippedFunction & { path: string })[];
  warnings: string[];
}

interface ParsedFile extends SelectableFile {
  text: string;
  tree: Tree;
  lines: LineIndex;
}

/**
 * Parses the files, selects the functions, plans and inserts the breadcrumbs, and describes them in a
 * manifest. Pure over text: the caller reads and writes files.
 */
export async function instrumentSources(files: SourceFile[], options: InstrumentOptions): Promise<InstrumentResult> {
  for (const file of files) {
    if (file.text.includes(SOURCE_OPEN) || file.text.includes(SOURCE_CLOSE)) {
      throw new KcrumbError('already-instrumented', `${file.path}: already holds kcrumb breadcrumbs`, `run: kcrumb strip ${file.path}`);
    }
  }
  const parsed = await Promise.all(files.map(parseFile));
  try {
    return buildResult(parsed, options);
  } finally {
    for (const file of parsed) file.tree.delete();
  }
}

async function parseFile(file: SourceFile): Promise<ParsedFile> {
  const { masked } = maskKernelSyntax(file.text);
  const tree = await parseC(masked);
  const lines = indexLines(file.text);
  const functions = findFunctions(tree, file.text, lines);
  const callsOf = (index: number) =>
    functions[index].body.descendantsOfType('call_expression').flatMap((call) => {
      const callee = call?.childForFieldName('function');
      return callee?.type === 'identifier' ? [callee.text] : [];
    });
  return { path: file.path, text: file.text, tree, lines, functions, callsOf, hooks: findTargetHooks(tree, file.text) };
}

interface PlannedFunction {
  file: number;
  function: number;
  reason: string;
  plan: FunctionPlan;
  /** Global id of the first site. */
  firstId: number;
}

function buildResult(parsed: ParsedFile[], options: InstrumentOptions): InstrumentResult {
  const { selected, warnings } = selectFunctions(parsed, options);
  const skipped: InstrumentResult['skipped'] = [];
  const planned: PlannedFunction[] = [];

  // Plan in file order, then source order, so breadcrumb numbers rise down each file.
  const ordered = [...selected].sort(
    (a, b) => a.file - b.file || parsed[a.file].functions[a.function].node.startIndex - parsed[b.file].functions[b.function].node.startIndex,
  );
  let nextId = 1;
  for (const choice of ordered) {
    const file = parsed[choice.file];
    const fn = file.functions[choice.function];
    const reason = fn.forbidden ?? fn.unsafe;
    if (reason) {
      skipped.push({ name: fn.name, file: choice.file, path: file.path, line: fn.line, reason });
      continue;
    }
    const plan = planFunction(fn.body, options.level, file.text);
    if (plan.misparsedAt !== undefined) {
      const line = lineOf(file.lines, plan.misparsedAt);
      skipped.push({ name: fn.name, file: choice.file, path: file.path, line: fn.line, reason: `misparsed at line ${line} (an iterator macro kcrumb does not know?)` });
      continue;
    }
    planned.push({ ...choice, plan, firstId: nextId });
    nextId += plan.sites.length;
  }

  const manifestFiles = [...new Set(planned.map((p) => p.file))];
  const fileSlot = new Map(manifestFiles.map((f, slot) => [f, slot]));
  const crumbs = describeCrumbs(parsed, planned, fileSlot);

  const outputs: SourceFile[] = manifestFiles.map((f) => {
    const insertions = planned.filter((p) => p.file === f).flatMap((p) => insertionsFor(p, options));
    const text = applyInsertions(parsed[f].text, insertions);
    if (stripBreadcrumbs(text, parsed[f].path).text !== parsed[f].text) {
      throw new Error(`${parsed[f].path}: instrumented text does not strip back to the original`);
    }
    return { path: parsed[f].path, text };
  });

  const functions: ManifestFunction[] = planned.map((p) => {
    const fn = parsed[p.file].functions[p.function];
    const count = p.plan.sites.length;
    return {
      name: fn.name,
      file: fileSlot.get(p.file)!,
      line: fn.line,
      endLine: fn.endLine,
      reason: p.reason,
      ...(count > 0 ? { crumbs: [p.firstId, p.firstId + count - 1] as [number, number] } : {}),
    };
  });

  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    version: MANIFEST_VERSION,
    tool: `kcrumb ${VERSION}`,
    tag: options.tag,
    createdAt: (options.now ?? new Date()).toISOString(),
    level: options.level,
    template: options.template.name,
    root: options.root,
    files: manifestFiles.map((f, slot) => ({
      path: parsed[f].path,
      originalSha256: sha256(parsed[f].text),
      instrumentedSha256: sha256(outputs[slot].text),
    })),
    functions,
    skipped: skipped.filter((s) => fileSlot.has(s.file)).map(({ path: _path, ...s }) => ({ ...s, file: fileSlot.get(s.file)! })),
    crumbs,
  };
  // Skipped functions of files that got no breadcrumb at all still belong in the report.
  const selectedReport: SelectedReport[] = planned.map((p) => {
    const fn = parsed[p.file].functions[p.function];
    return { name: fn.name, path: parsed[p.file].path, line: fn.line, reason: p.reason, crumbs: p.plan.sites.length };
  });
  return { outputs, manifest, selected: selectedReport, skipped, warnings };
}

function insertionsFor(p: PlannedFunction, options: InstrumentOptions): Insertion[] {
  return p.plan.edits.map((edit) => {
    if (edit.type === 'open-brace') return { offset: edit.offset, text: OPEN_BRACE_TEXT };
    if (edit.type === 'close-brace') return { offset: edit.offset, text: CLOSE_BRACE_TEXT };
    return { offset: edit.offset, text: renderCrumb(options.template, options.tag, p.firstId + edit.site) + ' ' };
  });
}

function describeCrumbs(parsed: ParsedFile[], planned: PlannedFunction[], fileSlot: Map<number, number>): ManifestCrumb[] {
  const byName = indexByName(parsed);
  const entryIdOf = new Map<string, number>();
  for (const p of planned) {
    const entry = p.plan.sites.findIndex((site) => site.kind === 'entry');
    if (entry >= 0) entryIdOf.set(`${p.file}:${p.function}`, p.firstId + entry);
  }
  const crumbs: ManifestCrumb[] = [];
  for (const p of planned) {
    const file = parsed[p.file];
    const fn = file.functions[p.function];
    const next = computeNext(p.plan.sites, fn.body);
    p.plan.sites.forEach((site, i) => {
      const calleeEntries = site.calls.flatMap((name) =>
        resolve(byName, name, p.file).flatMap(([f, g]) => entryIdOf.get(`${f}:${g}`) ?? []),
      );
      crumbs.push({
        id: p.firstId + i,
        file: fileSlot.get(p.file)!,
        line: lineOf(file.lines, site.offset),
        column: columnOf(file.text, file.lines, site.offset),
        function: fn.name,
        kind: site.kind,
        statement: statementText(site, file.text),
        next: [...new Set([...calleeEntries, ...next[i].map((j) => p.firstId + j)])],
      });
    });
  }
  return crumbs;
}

/** The statement's first line from the original text (the tree's own text is the masked one). */
function statementText(site: Site, original: string): string {
  if (site.atClose) return site.kind === 'exit' ? '} (end of function)' : '} (empty block)';
  const firstLine = original.slice(site.offset, site.node.endIndex).split('\n')[0].replace(/\s+/g, ' ').trim();
  return firstLine.length > 120 ? firstLine.slice(0, 117) + '...' : firstLine;
}
