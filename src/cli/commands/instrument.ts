import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Command, Option } from 'commander';
import { newTag, TAG_PATTERN } from '../../breadcrumb.js';
import { KcrumbError } from '../../errors.js';
import type { InstrumentResult } from '../../instrument/instrument.js';
import type { Template } from '../../breadcrumb.js';
import { BUILTIN_TEMPLATES, RING_TASK_TEMPLATE, RING_TEMPLATE, SINKS, withTaskId, type Sink } from '../../instrument/template.js';
import { serializeManifest } from '../../manifest/serialize.js';
import type { Level } from '../../manifest/schema.js';
import { hookFilter } from '../../select/select-functions.js';
import { describeHooks } from '../../vocabulary/hooks.js';
import type { CommandContext } from '../context.js';
import { withRunLock } from '../run-lock.js';
import { defaultManifestPath, loadManifests, MANIFEST_DIR, manifestFilePath, recordedRoot, tagsIn } from '../manifest-store.js';
import { shellCommand } from '../../shell.js';
import { loadTemplate } from '../templates.js';
import { paint, type Output } from '../output.js';
import { checkOutputPath, commitStaged, noteRemoved, removeStaleTemps, displayPath, expandPaths, readSourceFile, readSourceFiles, StagedWriter, writeFilesAtomically } from '../source-files.js';

/** How many selected or skipped functions the human report lists. */
const LIST_LIMIT = 200;

/** Below this many files, worker threads cost more than they save. */
const POOL_THRESHOLD = 8;

interface InstrumentFlags {
  level: Level;
  functions?: string[];
  hooks?: string[];
  depth?: number;
  template?: string;
  sink: Sink;
  manifest?: string;
  tag?: string;
  dryRun?: boolean;
  json?: boolean;
  loopLimit?: number;
  taskId?: boolean;
  jobs?: number;
  force?: boolean;
}

export function registerInstrument(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Insert a numbered breadcrumb before the statements of the selected functions, inline (no line of ' +
        'the file moves), and write a manifest that maps each number to file:line:column, function and ' +
        'statement. By default the functions are the hot-path hooks found in the files (the I/O, interrupt, ' +
        'timer, suspend and teardown fields of kernel ops structs such as target_type, blk_mq_ops, ' +
        'file_operations, net_device_ops, dev_pm_ops, pci_driver; the handlers given to request_irq, ' +
        'netif_napi_add, timer_setup, INIT_WORK, kthread_run) and every function they call, queue or call back ' +
        'that the files define. --hooks list prints the table.',
    )
    .argument('[file...]', 'C files (or directories of them) to instrument together')
    .addOption(
      new Option('-l, --level <level>', 'where breadcrumbs go').choices(['every-line', 'branches', 'functions']).default('every-line'),
    )
    .option('-f, --functions <names>', "names and globs, comma-separated (replaces the default selection): 'remap_*,sync_md'", list)
    .option('--hooks <hooks>', "where the default selection starts: struct.field, struct, field or registration call, comma-separated ('blk_mq_ops.queue_rq,request_irq'); 'list' prints the table", list)
    .option('--depth <n>', 'follow calls at most this deep from a hook (default: no limit)', depthNumber)
    .option('--loop-limit <n>', 'breadcrumbs inside loops print only on their first N passes (per breadcrumb)', positiveNumber('--loop-limit'))
    .option('-t, --template <name|file>', `breadcrumb statement: ${BUILTIN_TEMPLATES.join(', ')}, or a template file (default: printk)`)
    .addOption(
      new Option('--sink <sink>', 'printk: a console line per breadcrumb; ring: a record in kcrumb_ring.ko, printed when the kernel dies (see kcrumb ring --help)')
        .choices([...SINKS])
        .default('printk'),
    )
    .option('--task-id', "breadcrumbs print the task's pid too (kq7x#87@1.233): trails per task without printk caller ids")
    .option('-m, --manifest <file>', 'where to write the manifest (default: .kcrumb/<tag>.json)')
    .option('--tag <tag>', 'run tag printed in every breadcrumb, k + 3 of [0-9a-z] (default: random)')
    .option('--force', 'reuse a tag that has a manifest: replaces that record, once its files are stripped')
    .option('-j, --jobs <n>', 'worker threads for many files (default: one per core)', positiveNumber('--jobs'))
    .option('-n, --dry-run', 'print a unified diff of the change and write nothing')
    .option('--json', 'print a machine-readable summary on stdout')
    .addHelpText(
      'after',
      `
Levels:
  every-line  before every statement, inside every branch arm, loop body and case (the default)
  branches    function entry, each branch arm, loop body, case and label, and before each return
  functions   function entry and before each return

Examples:
  $ kcrumb instrument drivers/md/dm-remap.c
  $ kcrumb instrument --level functions drivers/md/dm-remap.c drivers/md/dm-remap-meta.c
  $ kcrumb instrument --functions 'remap_*,sync_metadata' --dry-run drivers/md/dm-remap.c
  $ kcrumb instrument --sink ring drivers/md/dm-remap.c   (then: kcrumb ring build)
  $ kcrumb instrument --task-id drivers/md/dm-remap.c      (a sleeping hang: tell the tasks apart)
  $ kcrumb instrument --hooks blk_mq_ops,pci_driver.probe drivers/block/null_blk/
  $ kcrumb instrument --hooks list

A breadcrumb looks like this in the source (on the statement's own line):
  /*<kc*/printk(KERN_CRIT "kq7x#87@%d\\n", raw_smp_processor_id()); /*kc>*/spin_lock(&rc->lock);
and like this on the console: kq7x#87@1 (run tag, breadcrumb 87, CPU 1), with --task-id kq7x#87@1.233
(pid 233; 4 more bytes a line for a 3-digit pid).
Undo with: kcrumb strip FILE...`,
    )
    .action(async (paths: string[], flags: InstrumentFlags) => {
      ctx.exitCode = flags.dryRun ? await runInstrument(paths, flags, ctx) : await withRunLock(ctx.cwd, () => runInstrument(paths, flags, ctx));
    });
}

async function runInstrument(paths: string[], flags: InstrumentFlags, ctx: CommandContext): Promise<number> {
  const { cwd, output } = ctx;
  if (flags.hooks?.includes('list')) {
    output.out(describeHooks());
    return 0;
  }
  if (paths.length === 0) throw new KcrumbError('usage', 'instrument: no file given', 'kcrumb instrument FILE... (kcrumb instrument --help)');
  hookFilter(flags.hooks); // an unknown hook is a usage error before any file is read
  if (flags.tag !== undefined && !TAG_PATTERN.test(flags.tag)) {
    throw new KcrumbError('usage', `--tag ${flags.tag}: a tag is k and three of [0-9a-z], like kq7x`);
  }
  // Sorted, so the numbering depends on which files are instrumented, not on the order they were named in.
  const given = [...new Set(expandPaths(cwd, paths))];
  // The manifest records paths inside one root: the working directory, or the folder that holds it and every file.
  const root = commonFolder([cwd, ...given.map((p) => resolve(cwd, p))]);
  const files = given.map((p) => relative(root, resolve(cwd, p))).sort();
  // A tag names one live run: a log is answered from the manifest with its tag.
  const inUse = new Map([...tagsIn(join(cwd, MANIFEST_DIR)), ...(flags.manifest ? tagsIn(dirname(resolve(cwd, flags.manifest))) : [])]);
  let tag = flags.tag ?? newTag();
  while (!flags.tag && inUse.has(tag)) tag = newTag();
  const manifestPath = checkOutputPath(cwd, flags.manifest ?? defaultManifestPath(cwd, tag), '--manifest', 'manifest');
  const replaced = replacedRun(cwd, tag, inUse.get(tag) ?? (existsSync(manifestPath) ? manifestPath : undefined), Boolean(flags.force));
  // Temporary files a killed run left beside these files or its manifest (this run holds the lock).
  if (!flags.dryRun) noteRemoved(output, removeStaleTemps(root, files, [dirname(manifestPath)]));
  const options = {
    level: flags.level,
    functions: flags.functions,
    hooks: flags.hooks,
    depth: flags.depth,
    template: await chooseTemplate(cwd, flags),
    tag,
    root,
    recordedRoot: recordedRoot(manifestPath, root),
    loopLimit: flags.loopLimit,
  };
  let result: InstrumentResult;

  if (files.length >= POOL_THRESHOLD) {
    // Many files: worker threads on every core. They stage the files, and the manifest is written as it
    // grows; everything is renamed into place here, once every file succeeded.
    const { instrumentWithPool } = await import('../instrument-runner.js');
    const manifestFile = flags.dryRun ? undefined : new StagedWriter(cwd, manifestPath);
    const progress = progressLine(output, 'instrumented');
    try {
      const pooled = await instrumentWithPool(files, {
        ...options,
        cwd: root,
        dryRun: Boolean(flags.dryRun),
        onProgress: progress.update,
        emitManifest: manifestFile && ((json) => manifestFile.write(json)),
        keepSelected: flags.json ? undefined : LIST_LIMIT,
        jobs: flags.jobs,
      }).finally(progress.done);
      result = pooled.result;
      // The manifest first: a run killed during the renames leaves files that strip finds through it.
      if (manifestFile) commitStaged([manifestFile.close(), ...pooled.staged]);
    } catch (error) {
      manifestFile?.abort();
      // Files a worker staged while another failed are not known here: take them by name.
      if (!flags.dryRun) removeStaleTemps(root, files);
      throw error;
    }
  } else {
    // Loaded here, not at the top: other commands need not pay for the parser's start-up.
    const { instrumentSources } = await import('../../instrument/instrument.js');
    result = await instrumentSources(readSourceFiles(root, files), options);
    if (!flags.dryRun) {
      writeFilesAtomically(root, [
        { path: manifestPath, text: serializeManifest(result.manifest), encoding: 'utf8' as const },
        ...result.outputs.map((o) => ({ path: o.path, text: o.text, encoding: 'latin1' as const })),
      ]);
    }
  }

  // --force: the old run's record goes once the new one is in place (its files were checked stripped).
  if (replaced && !flags.dryRun && replaced !== manifestPath) unlinkSync(replaced);

  const diff = flags.dryRun ? await unifiedDiff(root, result) : null;
  if (flags.json) {
    // One JSON document on stdout, the dry run's diff inside it.
    output.out(JSON.stringify({ ...summary(result, flags.dryRun ? null : displayPath(cwd, manifestPath)), dryRun: Boolean(flags.dryRun), diff }, null, 2));
    return 0;
  }
  if (diff !== null) output.out(diff);
  report(result, flags, displayPath(cwd, manifestPath), output);
  return 0;
}

/** What the dry run would change, as one unified diff of every file (a/ and b/ paths, for patch -p1). */
async function unifiedDiff(cwd: string, result: InstrumentResult): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  return result.outputs
    .map((out) => createTwoFilesPatch(`a/${out.path}`, `b/${out.path}`, readSourceFile(cwd, out.path).text, out.text, '', '', { context: 1 }))
    .join('');
}

/**
 * The manifest a reused tag would replace, if --force allows it: only when none of its files still holds
 * that run's breadcrumbs (then nothing on disk needs the old record). Without --force, a reused tag is refused.
 */
function replacedRun(cwd: string, tag: string, oldPath: string | undefined, force: boolean): string | undefined {
  if (!oldPath) return undefined;
  const shown = displayPath(cwd, oldPath);
  if (!force) {
    throw new KcrumbError('usage', `--tag ${tag}: run ${tag} already has a manifest, ${shown}; a log would be answered from the wrong one`, `pick another tag, or strip that run and pass --force to replace its record`);
  }
  const [old] = loadManifests(cwd, oldPath, 'without-crumbs');
  const live = old.manifest.files
    .map((f) => manifestFilePath(old.manifest, f.path))
    .filter((path) => {
      try {
        return readFileSync(path, 'latin1').includes(`"${tag}#`);
      } catch {
        return false;
      }
    })
    .map((path) => displayPath(cwd, path));
  if (live.length > 0) {
    throw new KcrumbError('usage', `--force --tag ${tag}: ${live.join(', ')} still hold${live.length === 1 ? 's' : ''} the breadcrumbs of run ${tag} (${shown})`, `strip them first: ${shellCommand('kcrumb strip', live)}`);
  }
  return oldPath;
}

/** The deepest folder that holds every one of `paths` (absolute). */
function commonFolder(paths: string[]): string {
  let common = paths[0];
  for (const path of paths) {
    while (path !== common && !path.startsWith(common.endsWith(sep) ? common : common + sep)) common = dirname(common);
  }
  return common;
}

/** A progress line on stderr, redrawn at most ten times a second, only on a terminal. */
function progressLine(output: Output, verb: string) {
  let last = 0;
  let shown = false;
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      if (!output.interactive || (now - last < 100 && done < total)) return;
      last = now;
      shown = true;
      output.status(`\r\x1b[Kkcrumb: ${verb} ${done}/${total} files`);
    },
    done: () => {
      if (shown) output.status('\r\x1b[K');
    },
  };
}

function report(result: InstrumentResult, flags: InstrumentFlags, manifestPath: string, output: Output): void {
  const say = flags.dryRun ? output.err : output.out;
  const total = result.crumbCount;
  say(`kcrumb: selected ${result.selectedCount + result.skipped.length} function(s), level ${flags.level}:`);
  // A whole tree selects hundreds of thousands of functions: list the first ones, --json has them all.
  const shown = result.selected.slice(0, LIST_LIMIT);
  const width = shown.reduce((w, s) => Math.max(w, `${s.path}:${s.line}`.length), 0);
  const nameWidth = shown.reduce((w, s) => Math.max(w, s.name.length), 0);
  for (const s of shown) {
    const where = `${s.path}:${s.line}`.padEnd(width);
    say(`  ${where}  ${paint(output, 'bold', s.name.padEnd(nameWidth))}  ${paint(output, 'dim', s.reason)}  (${s.crumbs})`);
  }
  if (result.selectedCount > shown.length) say(`  ... and ${result.selectedCount - shown.length} more (--json lists them all)`);
  for (const s of result.skipped.slice(0, LIST_LIMIT)) {
    say(`${s.path}:${s.line}:1: ${paint(output, 'yellow', 'warning')}: skipped ${s.name}: ${s.reason}`);
  }
  if (result.skipped.length > LIST_LIMIT) say(`kcrumb: ... and ${result.skipped.length - LIST_LIMIT} more skipped (--json lists them all)`);
  for (const f of result.skippedFiles) say(`${f.path}: ${paint(output, 'yellow', 'warning')}: skipped the whole file: ${f.reason}`);
  const risky = riskyCount(result);
  if (risky > 0) {
    const detail = Object.entries(result.stats.context).filter(([, n]) => n > 0).map(([c, n]) => `${n} ${c}`).join(', ');
    say(`kcrumb: note: ${risky} breadcrumbs run with a spinlock held or interrupts off (${detail}): they slow critical sections`);
  }
  if (flags.loopLimit && result.stats.loop > 0) say(`kcrumb: note: ${result.stats.loop} breadcrumbs inside loops print only on their first ${flags.loopLimit} passes (--loop-limit)`);
  for (const w of result.warnings) say(`kcrumb: ${paint(output, 'yellow', 'warning')}: ${w}`);
  const range = total > 0 ? `#1-#${total}` : 'none';
  const where = flags.dryRun ? 'dry run, nothing written' : `manifest ${manifestPath}`;
  say(`kcrumb: ${total} breadcrumbs (${range}, tag ${result.manifest.tag}) in ${result.manifest.files.length} file(s); ${where}`);
  if (!flags.dryRun && total > 0) {
    say(
      flags.sink === 'ring'
        ? 'kcrumb: next: kcrumb ring build, build the module with the KBUILD_EXTRA_SYMBOLS it prints, load kcrumb_ring.ko first, make the freeze end in a panic (kcrumb doctor), capture the console, then: kcrumb locate-freeze LOG'
        : 'kcrumb: next: build and load it, capture the console (serial, netconsole or pstore), then: kcrumb locate-freeze LOG',
    );
  }
}

function summary(result: InstrumentResult, manifestPath: string | null) {
  const perFile = new Map<string, number>();
  for (const s of result.selected) perFile.set(s.path, (perFile.get(s.path) ?? 0) + s.crumbs);
  return {
    tag: result.manifest.tag,
    level: result.manifest.level,
    manifest: manifestPath,
    crumbs: result.crumbCount,
    files: result.manifest.files.map((f) => ({ path: f.path, crumbs: perFile.get(f.path) ?? 0 })),
    selected: result.selected,
    skipped: result.skipped.map(({ name, path, line, reason }) => ({ name, path, line, reason })),
    skippedFiles: result.skippedFiles,
    risky: riskyCount(result),
    loopLimit: result.manifest.loopLimit ?? null,
    taskId: result.manifest.taskId === true,
    loopCrumbs: result.stats.loop,
    warnings: result.warnings,
  };
}

/** Breadcrumbs that run with a spinlock held, interrupts or preemption off. */
function riskyCount(result: InstrumentResult): number {
  return Object.values(result.stats.context).reduce((n, k) => n + k, 0);
}

async function chooseTemplate(cwd: string, flags: InstrumentFlags): Promise<Template> {
  if (flags.sink !== 'ring') {
    const template = await loadTemplate(cwd, flags.template ?? 'printk');
    return flags.taskId ? withTaskId(template) : template;
  }
  if (flags.template !== undefined) throw new KcrumbError('usage', `--template ${flags.template} and --sink ring: a ring breadcrumb has no template, choose one`);
  return flags.taskId ? RING_TASK_TEMPLATE : RING_TEMPLATE;
}

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function positiveNumber(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new KcrumbError('usage', `${option} ${value}: a whole number, 1 or more`);
    return n;
  };
}

function depthNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new KcrumbError('usage', `--depth ${value}: a whole number, 0 or more`);
  return n;
}
