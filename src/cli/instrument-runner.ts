/**
 * `kcrumb instrument` on many files: instrument's one orchestrator (runInstrument) with an executor that
 * spreads the work over worker threads.
 * Files are planned in parallel and numbered strictly in argument order (a file's first breadcrumb number
 * is known once every earlier file is planned), so the result is the same as in one thread. Workers
 * stage each instrumented file beside its target; nothing is renamed until every file succeeded.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { KcrumbError } from '../errors.js';
import { runInstrument, type Executor, type InstrumentResult, type RunOptions } from '../instrument/instrument.js';
import type { FileAnalysis } from '../instrument/analyze.js';
import type { FileChoice } from '../instrument/plan-file.js';
import type { PlanRecord } from '../manifest/build.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './instrument-worker.js';
import { FileSpool } from './file-spool.js';
import { discardStaged, type StagedFile } from './source-files.js';

export interface PoolOptions extends RunOptions {
  cwd: string;
  dryRun: boolean;
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
  setFlagsFromString(V8_TIER_UP_BUDGET);
  const staged: StagedFile[] = [];
  const spool = options.emitManifest ? new FileSpool() : undefined;
  let pool: Pool | undefined;
  try {
    const result = await runInstrument(
      given.map((path) => ({ path })),
      { ...options, spool },
      (files) => {
        pool = startWorkers(Math.min(options.jobs ?? availableParallelism(), files.length), options);
        return onWorkers(pool, files.map((f) => f.path), options, staged);
      },
    );
    return { result, staged };
  } catch (error) {
    discardStaged(staged);
    throw error;
  } finally {
    spool?.dispose();
    await pool?.stop();
  }
}

/** The executor of a run on worker threads; the files workers stage are added to `staged`. */
function onWorkers(pool: Pool, paths: string[], options: PoolOptions, staged: StagedFile[]): Executor {
  return {
    analyze: () => pool.map(paths, (index, path) => ({ type: 'analyze', index, path }), (reply) => (reply as { analysis: FileAnalysis }).analysis),
    planAll: (choices, number, add) =>
      numberInOrder(pool, paths, choices, options, number, (index, plan, rendered) => {
        if (rendered.staged) staged.push({ temp: rendered.staged, target: resolve(options.cwd, plan.path) });
        add(index, plan, rendered);
      }),
  };
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
  number: (index: number, plan: PlanRecord) => number,
  add: (index: number, plan: PlanRecord, rendered: Rendered) => void,
): Promise<void> {
  const planned = new Map<number, { plan: Planned; worker: number }>();
  const waiting = new Map<number, Planned>();
  const rendered = new Map<number, Rendered>();
  let nextToSend = 0;
  let nextToNumber = 0;
  let nextToAdd = 0;

  await pool.run((worker, reply) => {
    if (reply?.type === 'planned') {
      planned.set(reply.index, { plan: reply, worker });
      for (let entry = planned.get(nextToNumber); entry; entry = planned.get(nextToNumber)) {
        planned.delete(nextToNumber);
        waiting.set(nextToNumber, entry.plan);
        pool.send(entry.worker, { type: 'render', index: nextToNumber, firstId: number(nextToNumber, entry.plan.plan), dryRun: options.dryRun });
        nextToNumber++;
      }
    } else if (reply?.type === 'rendered') {
      rendered.set(reply.index, reply);
      for (let r = rendered.get(nextToAdd); r; r = rendered.get(nextToAdd)) {
        const plan = waiting.get(nextToAdd)!;
        rendered.delete(nextToAdd);
        waiting.delete(nextToAdd);
        add(nextToAdd, plan.plan, r);
        nextToAdd++;
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
  // tsx resolved here, not from the eval'd code (that resolves from the working directory, any folder)
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}
