/**
 * `kcrumb instrument` on many files: the same steps as instrumentSources, spread over worker threads.
 * Files are planned in parallel and numbered strictly in argument order (a file's first breadcrumb number
 * is known once every earlier file is planned), so the result is the same as in one thread. Workers
 * stage each instrumented file beside its target; nothing is renamed until every file succeeded.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { KcrumbError } from '../errors.js';
import {
  choicesFromAnalyses,
  emptyResult,
  finishResult,
  manifestHeader,
  recordSkippedFiles,
  setAsideNeverInstrumented,
  type InstrumentOptions,
  type InstrumentResult,
} from '../instrument/instrument.js';
import type { FileAnalysis } from '../instrument/analyze.js';
import type { FileChoice } from '../instrument/plan-file.js';
import { ManifestBuilder } from '../manifest/build.js';
import { globToRegExp } from '../select/select-functions.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './instrument-worker.js';
import { FileSpool } from './file-spool.js';
import { discardStaged, type StagedFile } from './source-files.js';

export interface PoolOptions extends InstrumentOptions {
  cwd: string;
  dryRun: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Receives the manifest's JSON piece by piece; the returned manifest then has no breadcrumbs or functions. */
  emitManifest?: (json: string) => void;
  /** How many selected functions the result lists (the rest are only counted); all by default. */
  keepSelected?: number;
  /** Worker threads at most (one per core by default). */
  jobs?: number;
}

export interface PoolResult {
  result: InstrumentResult;
  /** Instrumented files waiting to be renamed over their targets (none in a dry run). */
  staged: StagedFile[];
}

/** How many files a worker may hold planned but not yet numbered: bounds memory on huge trees. */
const WINDOW = 4;

/**
 * V8 optimises a function with TurboFan once it has run about 66 KB of bytecode (its --interrupt-budget),
 * and again after each deoptimisation while type feedback fills in. Every worker isolate compiles the
 * planner afresh, and those compile jobs run on the same cores as the workers: on drivers/md (107 files,
 * 2 cores) they took 2.2 s of the run's 3.6 s of CPU. With 15 times the budget only the code that stays
 * hot is optimised, once its feedback is complete: 1.88 s -> 1.54 s there, and no slower on a whole tree.
 * (V8 reads this flag as it runs, and workers share the process's flags.)
 */
const V8_TIER_UP_BUDGET = '--interrupt-budget=1000000';

export async function instrumentWithPool(given: string[], options: PoolOptions): Promise<PoolResult> {
  const aside = setAsideNeverInstrumented(given.map((path) => ({ path })), options.root);
  const paths = aside.files.map((f) => f.path);
  setFlagsFromString(V8_TIER_UP_BUDGET);
  const pool = startWorkers(Math.min(options.jobs ?? availableParallelism(), paths.length), options);
  const staged: StagedFile[] = [];
  const spool = options.emitManifest ? new FileSpool() : undefined;
  try {
    let choices: (index: number) => FileChoice[] | undefined = () => undefined;
    let isInstrumented: (name: string) => boolean;
    const warnings: string[] = [];
    if (options.functions) {
      const regexes = options.functions.map(globToRegExp);
      isInstrumented = (name) => regexes.some((r) => r.test(name));
    } else {
      const analyses = await pool.map(paths, (index, path) => ({ type: 'analyze', index, path }), (reply) => (reply as { analysis: FileAnalysis }).analysis);
      const selection = choicesFromAnalyses(analyses, options);
      choices = (index) => selection.choicesFor(index, analyses[index].functions);
      isInstrumented = selection.isInstrumented;
      warnings.push(...selection.finish());
    }
    const result = emptyResult();
    result.warnings.push(...warnings);
    const builder = new ManifestBuilder(manifestHeader(options), isInstrumented, options.emitManifest, spool);
    const keep = options.keepSelected ?? Infinity;
    const matched = new Set<string>();
    const patterns = (options.functions ?? []).map((p) => ({ p, regex: globToRegExp(p) }));
    recordSkippedFiles(result, builder, aside.skippedFiles);
    await numberInOrder(pool, paths, choices, options, (plan, firstId, rendered) => {
      result.skipped.push(...plan.skipped.map((s) => ({ ...s, path: plan.path })));
      for (const fn of plan.functions) {
        if (result.selected.length < keep) result.selected.push({ name: fn.name, path: plan.path, line: fn.line, reason: fn.reason, crumbs: fn.siteCount });
        result.selectedCount++;
      }
      for (const fn of [...plan.functions, ...plan.skipped]) notePatterns(patterns, fn.name, matched);
      if (plan.functions.length === 0) return;
      builder.addFile(plan, rendered, firstId);
      if (rendered.staged) staged.push({ temp: rendered.staged, target: resolve(options.cwd, plan.path) });
      if (rendered.text !== undefined) result.outputs.push({ path: plan.path, text: rendered.text });
    });
    if (options.functions) result.warnings.push(...unmatchedPatterns(options.functions, matched, result.selectedCount + result.skipped.length, paths.length));
    finishResult(result, builder);
    return { result, staged };
  } catch (error) {
    discardStaged(staged);
    throw error;
  } finally {
    spool?.dispose();
    await pool.stop();
  }
}

type Rendered = Extract<WorkerReply, { type: 'rendered' }>;
type Planned = Extract<WorkerReply, { type: 'planned' }>;

/**
 * Plans files on the workers as they free up, and hands out breadcrumb numbers in file order: file k is
 * rendered (by the worker that planned it) once files 0..k-1 have their numbers. Results are passed to
 * `add` in file order too.
 */
async function numberInOrder(
  pool: Pool,
  paths: string[],
  choices: (index: number) => FileChoice[] | undefined,
  options: PoolOptions,
  add: (plan: Planned['plan'], firstId: number, rendered: Rendered) => void,
): Promise<void> {
  const planned = new Map<number, { plan: Planned; worker: number }>();
  const waiting = new Map<number, { plan: Planned; firstId: number }>();
  const rendered = new Map<number, Rendered>();
  let nextToSend = 0;
  let nextToNumber = 0;
  let nextToAdd = 0;
  let nextId = 1;

  await pool.run((worker, reply) => {
    if (reply?.type === 'planned') {
      planned.set(reply.index, { plan: reply, worker });
      for (let entry = planned.get(nextToNumber); entry; entry = planned.get(nextToNumber)) {
        planned.delete(nextToNumber);
        waiting.set(nextToNumber, { plan: entry.plan, firstId: nextId });
        pool.send(entry.worker, { type: 'render', index: nextToNumber, firstId: nextId, dryRun: options.dryRun });
        nextId += entry.plan.sites;
        nextToNumber++;
      }
    } else if (reply?.type === 'rendered') {
      rendered.set(reply.index, reply);
      for (let r = rendered.get(nextToAdd); r; r = rendered.get(nextToAdd)) {
        const { plan, firstId } = waiting.get(nextToAdd)!;
        rendered.delete(nextToAdd);
        waiting.delete(nextToAdd);
        add(plan.plan, firstId, r);
        nextToAdd++;
        options.onProgress?.(nextToAdd, paths.length);
      }
    }
    // Keep every worker busy, within its window.
    while (nextToSend < paths.length && pool.load(worker) < WINDOW) {
      pool.send(worker, { type: 'plan', index: nextToSend, path: paths[nextToSend], choices: choices(nextToSend) });
      nextToSend++;
    }
    return nextToAdd === paths.length;
  });
}

/** Adds to `matched` the patterns that match `name`. */
function notePatterns(patterns: { p: string; regex: RegExp }[], name: string, matched: Set<string>): void {
  if (matched.size === patterns.length) return;
  for (const { p, regex } of patterns) if (!matched.has(p) && regex.test(name)) matched.add(p);
}

/** Warnings for patterns that matched nothing, or an error when no function matched at all. */
function unmatchedPatterns(patterns: string[], matched: Set<string>, functionCount: number, fileCount: number): string[] {
  if (functionCount === 0) {
    throw new KcrumbError('no-selection', `--functions ${patterns.join(',')} matches no function in ${fileCount} files`);
  }
  return patterns.filter((p) => !matched.has(p)).map((p) => `--functions ${p} matches no function defined in the given files`);
}

interface Pool {
  /** Sends one request per path to whichever worker is free and gathers the results in order. */
  map<T>(paths: string[], request: (index: number, path: string) => WorkerRequest, pick: (reply: WorkerReply) => T): Promise<T[]>;
  /** Runs `step` on start (reply undefined, for each worker) and on every reply until it returns true. */
  run(step: (worker: number, reply: WorkerReply | undefined) => boolean): Promise<void>;
  send(worker: number, request: WorkerRequest): void;
  /** Requests sent to `worker` and not answered yet, plus files it holds waiting to be numbered. */
  load(worker: number): number;
  stop(): Promise<void>;
}

function startWorkers(count: number, options: PoolOptions): Pool {
  const setup: WorkerSetup = {
    cwd: options.cwd,
    level: options.level,
    template: options.template,
    tag: options.tag,
    functions: options.functions,
    loopLimit: options.loopLimit,
  };
  const workers = Array.from({ length: Math.max(1, count) }, () => newWorker(setup));
  const load = workers.map(() => 0);
  let onReply: ((worker: number, reply: WorkerReply) => void) | undefined;
  let onError: ((error: Error) => void) | undefined;

  workers.forEach((worker, w) => {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'failed') {
        const e = reply.error;
        onError?.(e.code ? new KcrumbError(e.code, e.message, e.hint) : Object.assign(new Error(e.message), { stack: e.stack }));
        return;
      }
      if (reply.type !== 'planned') load[w]--;
      onReply?.(w, reply);
    });
    worker.on('error', (error) => onError?.(error));
  });

  const pool: Pool = {
    send(w, request) {
      if (request.type !== 'render') load[w]++;
      workers[w].postMessage(request);
    },
    load: (w) => load[w],
    run(step) {
      return new Promise<void>((done, fail) => {
        onError = fail;
        onReply = (w, reply) => {
          try {
            if (step(w, reply)) done();
          } catch (error) {
            fail(error);
          }
        };
        try {
          let finished = false;
          for (let w = 0; w < workers.length; w++) finished = step(w, undefined) || finished;
          if (finished) done();
        } catch (error) {
          fail(error);
        }
      });
    },
    async map(paths, request, pick) {
      const results: unknown[] = new Array(paths.length);
      let sent = 0;
      let received = 0;
      await pool.run((w, reply) => {
        if (reply && 'index' in reply) {
          results[reply.index] = pick(reply);
          received++;
        }
        while (sent < paths.length && load[w] < WINDOW) pool.send(w, request(sent, paths[sent++]));
        return received === paths.length;
      });
      return results as ReturnType<typeof pick>[];
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
  return pool;
}

/** The built worker; under the test runner (sources run as TypeScript) it goes through tsx's loader. */
function newWorker(setup: WorkerSetup): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./instrument-worker.js', import.meta.url), { workerData: setup });
  const source = new URL('./instrument-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}
