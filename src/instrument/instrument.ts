import { ManifestBuilder, type CrumbStats } from '../manifest/build.js';
import { sha256 } from '../manifest/hash.js';
import { KcrumbError } from '../errors.js';
import type { Level, Manifest, SkippedFile } from '../manifest/schema.js';
import { neverInstrumentFile } from '../parse/never-instrument.js';
import { globToRegExp, selectFunctions, type SelectOptions, type SelectedFunction } from '../select/select-functions.js';
import { VERSION } from '../version.js';
import { analyzeParsed, assertNotInstrumented, parseFile, type FileAnalysis, type SourceFile } from './analyze.js';
import { planFile, type FileChoice, type FilePlan } from './plan-file.js';
import { renderFile } from './render.js';
import type { Template } from './template.js';

export type { SourceFile } from './analyze.js';

export interface InstrumentOptions extends SelectOptions {
  level: Level;
  template: Template;
  tag: string;
  /** Absolute working directory, recorded in the manifest. */
  root: string;
  now?: Date;
  /** Breadcrumbs inside loops print only on their first N passes. */
  loopLimit?: number;
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
  /** The selected functions (a run over a whole tree may keep only the first ones: see selectedCount). */
  selected: SelectedReport[];
  selectedCount: number;
  /** Breadcrumbs inserted (the manifest may not hold them when it was streamed out). */
  crumbCount: number;
  skipped: { name: string; path: string; line: number; reason: string }[];
  /** Whole files never instrumented (scheduler, timekeeping, printk, console), one entry per file. */
  skippedFiles: SkippedFile[];
  /** Loop and lock-context counts of the breadcrumbs (also when the manifest was streamed out). */
  stats: CrumbStats;
  warnings: string[];
}

/**
 * The whole of `kcrumb instrument` over text, in this thread: check, select, plan, number, render,
 * describe. The CLI runs the same steps on worker threads for many files (cli/instrument-runner.ts).
 */
export async function instrumentSources(given: SourceFile[], options: InstrumentOptions): Promise<InstrumentResult> {
  const { files, skippedFiles } = setAsideNeverInstrumented(given, options.root);
  files.forEach(assertNotInstrumented);
  const selection = await chooseFunctions(files, options);
  const builder = new ManifestBuilder(manifestHeader(options), selection.isInstrumented);
  const result = emptyResult();
  recordSkippedFiles(result, builder, skippedFiles);
  for (const [index, file] of files.entries()) {
    const parsed = await parseFile(file);
    const plan = planFile(parsed, selection.choicesFor(index, parsed.functions), options.level);
    addPlannedFile(result, builder, file, plan, options);
  }
  result.warnings.push(...selection.finish());
  result.selectedCount = result.selected.length;
  finishResult(result, builder);
  return result;
}

/** The manifest and the counts the builder kept, once every file was added. */
export function finishResult(result: InstrumentResult, builder: ManifestBuilder): void {
  result.manifest = builder.finish();
  result.stats = builder.stats;
  result.crumbCount = builder.nextId - 1;
}

export function emptyResult(): InstrumentResult {
  return { outputs: [], manifest: undefined as unknown as Manifest, selected: [], selectedCount: 0, crumbCount: 0, skipped: [], skippedFiles: [], stats: { loop: 0, context: {} }, warnings: [] };
}

/**
 * Takes out the files kcrumb never instruments (see parse/never-instrument.ts); refuses a run where that
 * leaves nothing.
 */
export function setAsideNeverInstrumented<T extends { path: string }>(given: T[], root: string): { files: T[]; skippedFiles: SkippedFile[] } {
  const files: T[] = [];
  const skippedFiles: SkippedFile[] = [];
  for (const file of given) {
    const reason = neverInstrumentFile(file.path, root);
    if (reason) skippedFiles.push({ path: file.path, reason });
    else files.push(file);
  }
  if (files.length === 0 && skippedFiles.length > 0) {
    throw new KcrumbError('no-selection', `kcrumb never instruments ${skippedFiles.map((f) => f.path).join(', ')}: ${skippedFiles[0].reason}`);
  }
  return { files, skippedFiles };
}

export function recordSkippedFiles(result: InstrumentResult, builder: ManifestBuilder, skippedFiles: SkippedFile[]): void {
  for (const skip of skippedFiles) builder.skipFile(skip.path, skip.reason);
  result.skippedFiles.push(...skippedFiles);
}

/** Numbers one planned file's breadcrumbs after those already added, renders it, records it. */
export function addPlannedFile(result: InstrumentResult, builder: ManifestBuilder, file: SourceFile, plan: FilePlan, options: InstrumentOptions): void {
  result.skipped.push(...plan.skipped.map((s) => ({ ...s, path: plan.path })));
  for (const fn of plan.functions) result.selected.push({ name: fn.name, path: plan.path, line: fn.line, reason: fn.reason, crumbs: fn.siteCount });
  if (plan.sites.length === 0 && plan.functions.length === 0) return;
  const firstId = builder.nextId;
  const text = renderFile(file.text, plan, options.template, options.tag, firstId, options.loopLimit);
  builder.addFile(plan, { originalSha256: sha256(file.text), instrumentedSha256: sha256(text) }, firstId);
  result.outputs.push({ path: plan.path, text });
}

export function manifestHeader(options: InstrumentOptions) {
  return {
    tool: `kcrumb ${VERSION}`,
    tag: options.tag,
    createdAt: (options.now ?? new Date()).toISOString(),
    level: options.level,
    template: options.template.name,
    templateStatement: options.template.statement,
    root: options.root,
    loopLimit: options.loopLimit,
  };
}

export interface Choices {
  /** The functions of file `index` to instrument, given its function list. */
  choicesFor(index: number, functions: { name: string }[]): FileChoice[];
  isInstrumented(name: string): boolean;
  /** After every file was planned: the warnings, or an error when nothing at all was chosen. */
  finish(): string[];
}

/**
 * With --functions, each file chooses by name on its own (no need to parse twice). Otherwise every file
 * is analysed first, because a hook in one file can call into another.
 */
export async function chooseFunctions(files: SourceFile[], options: SelectOptions): Promise<Choices> {
  if (options.functions) return choicesByName(options.functions, files.map((f) => f.path));
  const analyses: FileAnalysis[] = [];
  for (const file of files) analyses.push(analyzeParsed(await parseFile(file)));
  return choicesFromAnalyses(analyses, options);
}

export function choicesFromAnalyses(analyses: FileAnalysis[], options: SelectOptions): Choices {
  const { selected, warnings } = selectFunctions(analyses, options);
  const byFile = new Map<number, SelectedFunction[]>();
  for (const s of selected) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  const names = new Set(selected.map((s) => analyses[s.file].functions[s.function].name));
  return {
    choicesFor: (index) => (byFile.get(index) ?? []).map((s) => ({ function: s.function, reason: s.reason })),
    isInstrumented: (name) => names.has(name),
    finish: () => warnings,
  };
}

/** Selection by names and globs, decided file by file as each is parsed. */
export function choicesByName(patterns: string[], paths: string[]): Choices {
  const matchers = patterns.map((pattern) => ({ pattern, regex: globToRegExp(pattern), used: false }));
  return {
    choicesFor: (_index, functions) =>
      functions.flatMap((fn, i) => {
        const matcher = matchers.find((m) => m.regex.test(fn.name));
        if (!matcher) return [];
        matcher.used = true;
        return [{ function: i, reason: `--functions ${matcher.pattern}` }];
      }),
    isInstrumented: (name) => matchers.some((m) => m.regex.test(name)),
    finish: () => {
      if (!matchers.some((m) => m.used)) {
        const where = paths.length > 3 ? `${paths.length} files` : paths.join(', ');
        throw new KcrumbError('no-selection', `--functions ${patterns.join(',')} matches no function in ${where}`);
      }
      return matchers.filter((m) => !m.used).map((m) => `--functions ${m.pattern} matches no function defined in the given files`);
    },
  };
}
