import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { newTag, TAG_PATTERN } from '../../breadcrumb.js';
import { KcrumbError } from '../../errors.js';
import { locateFreeze } from '../../locate/locate.js';
import { CrumbResolver } from '../../locate/resolve.js';
import { RecordedSources } from '../../manifest/recorded-sources.js';
import { serializeManifest } from '../../manifest/serialize.js';
import { planZoom, recordReasons } from '../../zoom/targets.js';
import type { CommandContext } from '../context.js';
import { withRunLock } from '../run-lock.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { defaultManifestPath, loadManifests, requireManifests, manifestFilePath, recordedRoot } from '../manifest-store.js';
import { stackFunctions } from '../../reports/title.js';
import { paint } from '../output.js';
import { checkOutputPath, displayPath, expandPaths, readSourceFiles, writeFilesAtomically } from '../source-files.js';
import { loadTemplate } from '../templates.js';
import { readLogArgument } from '../log-file.js';

interface ZoomFlags {
  manifest?: string;
  tag?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Trail kept per thread to rebuild which functions it was in: longer than locate-freeze shows. */
const ZOOM_TRAIL = 500;

export function registerZoom(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Read the log of a --level functions (or branches) run, find the function(s) where the freeze sits ' +
        '(per CPU or task, the innermost function entered and not left, and the instrumented functions its ' +
        'last breadcrumb was about to call), strip that run from its files and instrument only those ' +
        'functions at every line, under a new tag and manifest. Refuses a log of an every-line run and ' +
        'files edited since they were instrumented. Exit 0: done; 1: no breadcrumb of ours in the log; 2: refused.',
    )
    .argument('<log>', 'the log of the coarse run, or - for stdin')
    .argument('[files...]', 'with a log without breadcrumbs: the C files to instrument, at every line, in the functions of the kernel reports\' stacks')
    .option('-m, --manifest <file|dir>', 'manifest file or directory of them (default: .kcrumb/ in the working directory)')
    .option('--tag <tag>', 'run tag of the new breadcrumbs, k + 3 of [0-9a-z] (default: random)')
    .option('-n, --dry-run', 'say what would be instrumented and write nothing')
    .option('--json', 'print a machine-readable summary on stdout')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb instrument --level functions dm-remap-target.c dm-remap-metadata.c
  $ ...build, load, reproduce the freeze, capture the console to coarse.log...
  $ kcrumb zoom coarse.log
  kcrumb: the freeze sits in 1 function(s) (from run kf1x, level functions, last breadcrumb #7 on CPU0):
    dm-remap-metadata.c:35  remap_entry_flush  CPU0 (the answer) stopped in it after #7 (entry)
  kcrumb: stripped kf1x from 2 file(s); 10 breadcrumbs (#1-#10, tag kz3q) in remap_entry_flush; manifest .kcrumb/kz3q.json
  kcrumb: next: rebuild and load it, reproduce, then: kcrumb locate-freeze LOG
  $ kcrumb zoom --dry-run --json coarse.log
  $ kcrumb zoom oops.log dm-remap-target.c dm-remap-metadata.c     (a log of an uninstrumented module)`,
    )
    .action(async (log: string, files: string[], flags: ZoomFlags) => {
      const run = () => (files.length > 0 ? zoomFromReports(ctx, log, files, flags) : runZoom(ctx, log, flags));
      ctx.exitCode = flags.dryRun ? await run() : await withRunLock(ctx.cwd, run);
    });
}

/**
 * The first contact with a crash: a log of a module without breadcrumbs. The kernel's reports name the
 * functions on the stacks; those the given files define are instrumented at every line under a new tag.
 */
async function zoomFromReports(ctx: CommandContext, log: string, paths: string[], flags: ZoomFlags): Promise<number> {
  const { cwd, output } = ctx;
  if (flags.tag !== undefined && !TAG_PATTERN.test(flags.tag)) {
    throw new KcrumbError('usage', `--tag ${flags.tag}: a tag is k and three of [0-9a-z], like kq7x`);
  }
  const { analysis } = await readLogArgument(ctx, log, new CrumbResolver([]), 0);
  const reports = analysis.reports.filter((r) => r.kind !== 'nmi-backtrace');
  if (reports.length === 0) {
    output.err('kcrumb: no kernel report in the log: nothing to zoom into (with breadcrumbs in it, run kcrumb zoom LOG alone)');
    return EXIT_NO;
  }
  const names = stackFunctions(reports);
  const files = [...new Set(expandPaths(cwd, paths))].sort();
  const tag = flags.tag ?? freshTag(loadManifests(cwd, flags.manifest).map((s) => s.manifest.tag));
  const [{ instrumentSources }, { analyzeParsed, parseFile }, { reportTargets }] = await Promise.all([
    import('../../instrument/instrument.js'),
    import('../../instrument/analyze.js'),
    import('../../zoom/report-targets.js'),
  ]);
  const sources = readSourceFiles(cwd, files);
  const analyses = await Promise.all(sources.map(async (file) => analyzeParsed(await parseFile(file))));
  const targets = reportTargets(reports, analyses);
  const none = () => `none of the stacks' functions (${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}) is defined in the given files: nothing instrumented`;
  if (targets.length === 0) {
    output.err(`kcrumb: ${none()}`);
    return EXIT_NO;
  }
  const template = await loadTemplate(cwd, 'printk');
  const result = await instrumentSources(sources, { level: 'every-line', functions: targets.map((t) => t.name), template, tag, root: cwd });
  recordReasons(result, targets, 'zoom from the kernel\'s reports');
  const roleOf = new Map(targets.map((t) => [t.name, t]));
  const manifestPath = resolve(cwd, defaultManifestPath(cwd, tag));
  const got = result.selected.filter((s) => s.crumbs > 0);
  if (!flags.dryRun && got.length > 0) {
    writeFilesAtomically(cwd, [
      ...result.outputs.map((o) => ({ path: o.path, text: o.text, encoding: 'latin1' as const })),
      { path: manifestPath, text: serializeManifest(result.manifest), encoding: 'utf8' as const },
    ]);
  }
  const crumbs = result.manifest.crumbs.length;
  if (flags.json) {
    output.out(JSON.stringify({
      reports: reports.map((r) => r.title),
      stack: names,
      tag,
      manifest: flags.dryRun || got.length === 0 ? null : displayPath(cwd, manifestPath),
      crumbs,
      functions: got.map(({ name, path, line, crumbs: n }) => ({ name, path: displayPath(cwd, resolve(cwd, path)), line, crumbs: n, role: roleOf.get(name)?.role, reason: roleOf.get(name)?.reason })),
      dryRun: Boolean(flags.dryRun),
    }, null, 2));
    return got.length > 0 ? EXIT_OK : EXIT_NO;
  }
  for (const r of reports) output.out(`kcrumb: the kernel reported ${r.title}${r.lineNumber !== undefined ? ` (log line ${r.lineNumber})` : ''}`);
  if (got.length === 0) {
    output.err(`kcrumb: ${none()}`);
    return EXIT_NO;
  }
  for (const s of got) {
    const target = roleOf.get(s.name)!;
    output.out(`  ${displayPath(cwd, resolve(cwd, s.path))}:${s.line}  ${paint(output, 'bold', s.name)}  ${s.crumbs} breadcrumb(s)  ${paint(output, 'dim', `${target.role}: ${target.reason}`)}`);
  }
  for (const skip of result.skipped) output.err(`kcrumb: ${paint(output, 'yellow', 'warning')}: ${skip.name}: skipped: ${skip.reason}`);
  const written = flags.dryRun ? ' (dry run: nothing written)' : `; manifest ${displayPath(cwd, manifestPath)}`;
  const callers = got.filter((s) => roleOf.get(s.name)!.role === 'caller').length;
  output.out(`kcrumb: ${crumbs} breadcrumbs (tag ${tag}) in ${got.length - callers} function(s) of the reports' stacks and ${callers} caller(s) on the default path${written}`);
  output.out('kcrumb: next: rebuild and load it, reproduce, then: kcrumb locate-freeze LOG');
  return EXIT_OK;
}

async function runZoom(ctx: CommandContext, log: string, flags: ZoomFlags): Promise<number> {
  const { cwd, output } = ctx;
  if (flags.tag !== undefined && !TAG_PATTERN.test(flags.tag)) {
    throw new KcrumbError('usage', `--tag ${flags.tag}: a tag is k and three of [0-9a-z], like kq7x`);
  }
  const stored = requireManifests(cwd, flags.manifest);
  const manifests = stored.map((s) => s.manifest);
  const resolver = new CrumbResolver(manifests);
  const { analysis, fromStart, toEnd } = await readLogArgument(ctx, log, resolver, ZOOM_TRAIL);
  const answer = locateFreeze({ analysis, resolver, fromStart, toEnd });
  if (answer.status === 'none') {
    output.err('kcrumb: no breadcrumb of ours in the log: nothing to zoom into');
    if (answer.hint) output.err(`kcrumb: hint: ${answer.hint}`);
    return EXIT_NO;
  }
  const plan = planZoom(answer, manifests);
  const coarse = manifests[plan.manifest];
  const tag = flags.tag ?? freshTag(manifests.map((m) => m.tag));
  if (manifests.some((m) => m.tag === tag)) throw new KcrumbError('usage', `--tag ${tag}: a manifest with that tag exists already`);

  const texts = coarse.files.map((file) => {
    const path = manifestFilePath(coarse, file.path);
    try {
      return readFileSync(path, 'latin1');
    } catch (error) {
      throw new KcrumbError('input', `${displayPath(cwd, path)}: cannot read (${(error as NodeJS.ErrnoException).code}), a file of run ${coarse.tag}`);
    }
  });
  const { rezoom } = await import('../../zoom/rezoom.js');
  const recorded = new RecordedSources(manifests, (m, file) => manifestFilePath(m, file.path));
  const zoomed = await rezoom({
    manifest: coarse,
    texts,
    targets: plan.targets,
    template: await loadTemplate(coarse.root, coarse.template),
    tag,
    recognise: (path, text) => recorded.recognise(manifestFilePath(coarse, path), text),
  });
  const manifestPath = checkOutputPath(cwd, join(dirname(stored[plan.manifest].path), `${tag}.json`), 'zoom manifest', 'manifest');
  const changed = zoomed.files.filter((f, i) => f.text !== texts[i]);
  if (!flags.dryRun) {
    writeFilesAtomically(coarse.root, [
      ...changed.map((f) => ({ path: f.path, text: f.text, encoding: 'latin1' as const })),
      { path: manifestPath, text: serializeManifest({ ...zoomed.result.manifest, root: recordedRoot(manifestPath, coarse.root) }), encoding: 'utf8' as const },
    ]);
  }

  const shownManifest = displayPath(cwd, manifestPath);
  const last = answer.last!;
  const selected = zoomed.result.selected.filter((s) => s.crumbs > 0);
  const crumbs = zoomed.result.manifest.crumbs.length;
  if (flags.json) {
    output.out(
      JSON.stringify(
        {
          from: { tag: coarse.tag, level: coarse.level, manifest: displayPath(cwd, stored[plan.manifest].path), last: { id: last.crumb.id, function: last.crumb.function, thread: last.thread } },
          targets: plan.targets,
          notes: plan.notes,
          tag,
          manifest: flags.dryRun ? null : shownManifest,
          crumbs,
          functions: selected.map(({ name, path, line, crumbs: n }) => ({ name, path: displayPath(cwd, resolve(coarse.root, path)), line, crumbs: n })),
          files: changed.map((f) => displayPath(cwd, resolve(coarse.root, f.path))),
          missed: zoomed.missed,
          dryRun: Boolean(flags.dryRun),
        },
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  output.out(
    `kcrumb: the freeze sits in ${plan.targets.length} function(s) (from run ${coarse.tag}, level ${coarse.level}, last breadcrumb #${last.crumb.id} on ${last.thread}):`,
  );
  const rows = plan.targets.map((t) => {
    const s = zoomed.result.selected.find((x) => x.name === t.name);
    return { where: s ? `${displayPath(cwd, resolve(coarse.root, s.path))}:${s.line}` : '?', name: t.name, reason: t.reason };
  });
  const width = Math.max(...rows.map((r) => r.where.length));
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) output.out(`  ${r.where.padEnd(width)}  ${paint(output, 'bold', r.name.padEnd(nameWidth))}  ${paint(output, 'dim', r.reason)}`);
  for (const note of plan.notes) output.out(`  ${paint(output, 'dim', `(${note})`)}`);
  for (const miss of zoomed.missed) output.err(`kcrumb: ${paint(output, 'yellow', 'warning')}: ${miss}`);
  for (const w of zoomed.result.warnings) output.err(`kcrumb: ${paint(output, 'yellow', 'warning')}: ${w}`);
  const range = crumbs > 0 ? `#1-#${crumbs}` : 'none';
  const where = flags.dryRun ? 'dry run, nothing written' : `manifest ${shownManifest}`;
  output.out(
    `kcrumb: ${flags.dryRun ? 'would strip' : 'stripped'} ${coarse.tag} from ${coarse.files.length} file(s); ${crumbs} breadcrumbs (${range}, tag ${tag}) in ${selected.map((s) => s.name).join(', ') || 'nothing'}; ${where}`,
  );
  if (!flags.dryRun) output.out('kcrumb: next: rebuild and load it, reproduce the freeze, capture the console, then: kcrumb locate-freeze LOG');
  return EXIT_OK;
}

/** A random tag no loaded manifest has (a clash would make the new log ambiguous). */
function freshTag(taken: string[]): string {
  for (;;) {
    const tag = newTag();
    if (!taken.includes(tag)) return tag;
  }
}
