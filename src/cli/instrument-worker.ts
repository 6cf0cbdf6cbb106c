/**
 * A worker thread of `kcrumb instrument` for many files. It reads, checks and parses its files, plans
 * them, and once the main thread has numbered a file, renders it and stages it beside its target (the
 * main thread renames every staged file at the end, so a failure leaves every file as it was).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KcrumbError } from '../errors.js';
import { analyzeParsed, assertNotInstrumented, parseFile, type SourceFile } from '../instrument/analyze.js';
import { choicesByName, renderPlanned } from '../instrument/instrument.js';
import { planFile, type FileChoice, type FilePlan, type PlanRecord } from '../instrument/plan-file.js';
import type { Template } from '../breadcrumb.js';
import type { Level } from '../manifest/schema.js';
import { readSourceFile, stageFileAsync } from './source-files.js';

export interface WorkerSetup {
  cwd: string;
  level: Level;
  template: Template;
  tag: string;
  /** --functions patterns, or undefined when the main thread chooses from hooks. */
  functions?: string[];
  loopLimit?: number;
}

export type WorkerRequest =
  | { type: 'analyze'; index: number; path: string }
  | { type: 'plan'; index: number; path: string; choices?: FileChoice[] }
  | { type: 'render'; index: number; firstId: number; dryRun: boolean };

export type WorkerReply =
  | { type: 'analyzed'; index: number; analysis: ReturnType<typeof analyzeParsed> }
  | { type: 'planned'; index: number; plan: PlanRecord }
  | { type: 'rendered'; index: number; staged?: string; text?: string; originalSha256: string; instrumentedSha256: string }
  | { type: 'failed'; index: number; error: { code?: KcrumbError['code']; message: string; hint?: string; stack?: string } };

const setup = workerData as WorkerSetup;
const byName = setup.functions ? choicesByName(setup.functions) : undefined;
/** Files planned and waiting for their first breadcrumb number. */
const pending = new Map<number, { file: SourceFile; plan: FilePlan }>();

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.type) {
    case 'analyze': {
      const file = readSourceFile(setup.cwd, request.path);
      assertNotInstrumented(file);
      return { type: 'analyzed', index: request.index, analysis: analyzeParsed(await parseFile(file)) };
    }
    case 'plan': {
      // checked here too: with --functions nothing was analysed first
      const file = readSourceFile(setup.cwd, request.path);
      assertNotInstrumented(file);
      const parsed = await parseFile(file);
      const plan = planFile(parsed, request.choices ?? byName!.choicesFor(parsed.functions), setup.level);
      pending.set(request.index, { file, plan });
      // only what the main thread records crosses over (not the edits, nor where declarations go)
      const record: PlanRecord = { path: plan.path, functions: plan.functions, skipped: plan.skipped, sites: plan.sites, deferred: plan.deferred };
      return { type: 'planned', index: request.index, plan: record };
    }
    case 'render': {
      const { file, plan } = pending.get(request.index)!;
      pending.delete(request.index);
      const { text, ...hashes } = renderPlanned(file, plan, request.firstId, setup);
      if (text === undefined || request.dryRun) return { type: 'rendered', index: request.index, text, ...hashes };
      return { type: 'rendered', index: request.index, staged: await stageBeside(file.path, text), ...hashes };
    }
  }
}

/** An unwritable folder or a full disk is the user's to fix (exit 2), not a bug of kcrumb's. */
async function stageBeside(path: string, text: string): Promise<string> {
  try {
    return await stageFileAsync(setup.cwd, path, text);
  } catch (error) {
    throw new KcrumbError('input', `${path}: cannot write beside it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing was changed`);
  }
}

parentPort!.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (reply) => parentPort!.postMessage(reply),
    (error: Error) => {
      const known = error instanceof KcrumbError ? { code: error.code, hint: error.hint } : { stack: error.stack };
      parentPort!.postMessage({ type: 'failed', index: request.index, error: { message: error.message, ...known } } satisfies WorkerReply);
    },
  );
});
