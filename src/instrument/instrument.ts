import { ManifestBuilder, type CrumbStats, type PlanRecord, type TextSpool } from '../manifest/build.js';
import { sha256 } from '../manifest/hash.js';
import { KcrumbError } from '../errors.js';
import type { Level, Manifest, SkippedFile } from '../manifest/schema.js';
import { neverInstrumentFile } from '../parse/never-instrument.js';
import { globToRegExp, selectFunctions, type SelectOptions, type SelectedFunction } from '../select/select-functions.js';
import { VERSION } from '../version.js';
import { analyzeParsed, assertNotInstrumented, parseFile, type FileAnalysis, type SourceFile } from './analyze.js';
import { planFile, type FileChoice, type FilePlan } from './plan-file.js';
import { renderFile } from './render.js';
import type { Template } from '../breadcrumb.js';

export type { SourceFile } from './analyze.js';

export interface InstrumentOptions extends SelectOptions {
  level: Level;
  template: Template;
  tag: string;
  /** Absolute directory the file paths are relative to. */
  root: string;
  /** The root as the manifest records it (relative to where the manifest is written); `root` if not given. */
  recordedRoot?: string;
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

/** A rendered file as an executor hands it back: its text (unless it was staged where it ran), and the hashes. */
export interface RenderedFile {
  text?: string;
  originalSha256: string;
  instrumentedSha256: string;
}

/**
 * Where the steps of one run execute: in this thread (inThread below) or on worker threads
 * (cli/instrument-runner.ts). The orchestrator, runInstrument, does the rest once: selection,
 * numbering, recording, warnings.
 */
export interface Executor {
  /** Reads, checks and analyses every file, for the selection by hooks. */
  analyze(): Promise<FileAnalysis[]>;
  /**
   * Plans every file, in any order (`choices` undefined: by --functions, decided where the file is
   * parsed), and renders each once it has its numbers. `number` is called in file order and gives the
   * file's first breadcrumb number; `add` is called in file order with the rendered file.
   */
  planAll(
    choices: (index: number) => FileChoice[] | undefined,
    number: (index: number, plan: PlanRecord) => number,
    add: (index: number, plan: PlanRecord, rendered: RenderedFile) => void,
  ): Promise<void>;
}

export interface RunOptions extends InstrumentOptions {
  /** Receives the manifest's JSON piece by piece; the returned manifest then has no breadcrumbs. */
  emitManifest?: (json: string) => void;
  /** With emitManifest: where the function list waits (it comes after the breadcrumbs). */
  spool?: TextSpool;
  /** How many selected functions the result lists (the rest are only counted); all by default. */
  keepSelected?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The whole of `kcrumb instrument` over text, in this thread: check, select, plan, number, render, describe. */
export function instrumentSources(given: SourceFile[], options: InstrumentOptions): Promise<InstrumentResult> {
  return runInstrument(given, options, (files) => inThread(files, options));
}

/** One run of instrument over `given`, the steps executed where `executorFor` says. */
export async function runInstrument<T extends { path: string }>(given: T[], options: RunOptions, executorFor: (files: T[]) => Executor): Promise<InstrumentResult> {
  const { files, skippedFiles } = setAsideNeverInstrumented(given, options.root);
  const executor = executorFor(files);
  const warnings: string[] = [];
  let choices: (index: number) => FileChoice[] | undefined = () => undefined;
  let isInstrumented: (name: string) => boolean;
  const patterns = (options.functions ?? []).map((pattern) => ({ pattern, regex: globToRegExp(pattern), matched: false }));
  if (options.functions) {
    isInstrumented = (name) => patterns.some((p) => p.regex.test(name));
  } else {
    const analyses = await executor.analyze();
    const selection = choicesFromAnalyses(analyses, options);
    choices = (index) => selection.choicesFor(index, analyses[index].functions);
    isInstrumented = selection.isInstrumented;
    warnings.push(...selection.finish());
  }
  const builder = new ManifestBuilder(manifestHeader(options), isInstrumented, options.emitManifest, options.spool);
  for (const skip of skippedFiles) builder.skipFile(skip.path, skip.reason);
  const outputs: SourceFile[] = [];
  const selected: SelectedReport[] = [];
  const skipped: InstrumentResult['skipped'] = [];
  const keep = options.keepSelected ?? Infinity;
  let selectedCount = 0;
  let nextId = 1;
  let added = 0;
  const firstIds: number[] = [];

  await executor.planAll(
    choices,
    (index, plan) => {
      firstIds[index] = nextId;
      nextId += plan.sites.length;
      return firstIds[index];
    },
    (index, plan, rendered) => {
      skipped.push(...plan.skipped.map((s) => ({ ...s, path: plan.path })));
      for (const fn of plan.functions) {
        if (selected.length < keep) selected.push({ name: fn.name, path: plan.path, line: fn.line, reason: fn.reason, crumbs: fn.siteCount });
        selectedCount++;
      }
      for (const fn of [...plan.functions, ...plan.skipped]) for (const p of patterns) p.matched ||= p.regex.test(fn.name);
      if (plan.functions.length > 0) {
        builder.addFile(plan, rendered, firstIds[index]);
        if (rendered.text !== undefined) outputs.push({ path: plan.path, text: rendered.text });
      }
      options.onProgress?.(++added, files.length);
    },
  );
  if (options.functions) {
    if (selectedCount + skipped.length === 0) {
      const where = files.length > 3 ? `${files.length} files` : files.map((f) => f.path).join(', ');
      throw new KcrumbError('no-selection', `--functions ${options.functions.join(',')} matches no function in ${where}`);
    }
    warnings.push(...patterns.filter((p) => !p.matched).map((p) => `--functions ${p.pattern} matches no function defined in the given files`));
  }
  const manifest = builder.finish();
  return { outputs, manifest, selected, selectedCount, crumbCount: builder.nextId - 1, skipped, skippedFiles, stats: builder.stats, warnings };
}

/** The executor of a run in this thread: every file checked first, then one after the other. */
function inThread(files: SourceFile[], options: InstrumentOptions): Executor {
  files.forEach(assertNotInstrumented);
  const byName = options.functions ? choicesByName(options.functions) : undefined;
  return {
    async analyze() {
      const analyses: FileAnalysis[] = [];
      for (const file of files) analyses.push(analyzeParsed(await parseFile(file)));
      return analyses;
    },
    async planAll(choices, number, add) {
      for (const [index, file] of files.entries()) {
        const parsed = await parseFile(file);
        const plan = planFile(parsed, choices(index) ?? byName!.choicesFor(parsed.functions), options.level);
        const firstId = number(index, plan);
        add(index, plan, renderPlanned(file, plan, firstId, options));
      }
    },
  };
}

/** A planned file with its breadcrumbs numbered from `firstId`, and its hashes (no text when it gets none). */
export function renderPlanned(file: SourceFile, plan: FilePlan, firstId: number, options: Pick<InstrumentOptions, 'template' | 'tag' | 'loopLimit'>): RenderedFile {
  if (plan.edits.length === 0) return { originalSha256: '', instrumentedSha256: '' };
  const text = renderFile(file.text, plan, options.template, options.tag, firstId, options.loopLimit);
  return { text, originalSha256: sha256(file.text), instrumentedSha256: sha256(text) };
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

export function manifestHeader(options: InstrumentOptions) {
  return {
    tool: `kcrumb ${VERSION}`,
    tag: options.tag,
    createdAt: (options.now ?? new Date()).toISOString(),
    level: options.level,
    template: options.template.name,
    templateStatement: options.template.statement,
    root: options.recordedRoot ?? options.root,
    loopLimit: options.loopLimit,
    taskId: options.template.taskId ? (true as const) : undefined,
  };
}

export interface Choices {
  /** The functions of file `index` to instrument, given its function list. */
  choicesFor(index: number, functions: { name: string }[]): FileChoice[];
  isInstrumented(name: string): boolean;
  /** After every file was planned: the warnings, or an error when nothing at all was chosen. */
  finish(): string[];
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
export function choicesByName(patterns: string[]): { choicesFor(functions: { name: string }[]): FileChoice[] } {
  const regexes = patterns.map((pattern) => ({ pattern, regex: globToRegExp(pattern) }));
  return {
    choicesFor: (functions) =>
      functions.flatMap((fn, i) => {
        const matcher = regexes.find((m) => m.regex.test(fn.name));
        return matcher ? [{ function: i, reason: `--functions ${matcher.pattern}` }] : [];
      }),
  };
}
