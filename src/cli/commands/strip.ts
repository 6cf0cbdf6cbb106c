import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { KcrumbError } from '../../errors.js';
import { RecordedSources } from '../../manifest/recorded-sources.js';
import { shellCommand } from '../../shell.js';
import { editedBraces, hasBreadcrumbs, stripBreadcrumbs, type SpanProblem } from '../../strip/strip.js';
import type { CommandContext } from '../context.js';
import { withRunLock } from '../run-lock.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { loadManifests, MANIFEST_DIR, manifestFilePath, type StoredManifest } from '../manifest-store.js';
import { paint } from '../output.js';
import { knownTemplates } from '../templates.js';
import { commitStaged, discardStaged, noteRemoved, removeStaleTemps, displayPath, expandPaths, readSourceFile, stageFile, type StagedFile } from '../source-files.js';

interface StripFlags {
  check?: boolean;
  manifest?: string;
  json?: boolean;
  unrecorded?: boolean;
}

type Verdict = 'restored' | 'edited-since' | 'no-record' | 'clean' | 'left';

export function registerStrip(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Remove exactly what kcrumb instrument inserted, by its markers, and check the result against the ' +
        "original's hash in the manifest. Lines you edited meanwhile are kept; only breadcrumbs go. A span " +
        'you edited (or braces that now hold more than one statement) is left in place and named, that ' +
        'file is not rewritten, and the exit status is 1. Only files a manifest records, unless --unrecorded. ' +
        'With no file, strips every file recorded in the manifests of .kcrumb/.',
    )
    .argument('[file...]', 'C files or directories (default: the files the manifests record)')
    .option('--check', 'only list files that still hold breadcrumbs; exit 1 if any (for pre-commit hooks and CI)')
    .option('-m, --manifest <file|dir>', 'manifest(s) to check hashes against (default: .kcrumb/)')
    .option('--unrecorded', 'also strip files no manifest records (kcrumb cannot tell how they came to hold breadcrumbs)')
    .option('--json', 'print a machine-readable summary on stdout')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb strip drivers/md/dm-remap.c
  $ kcrumb strip                       # every file the manifests in .kcrumb/ record
  $ kcrumb strip --check drivers/md    # exit 1 and list files that still hold breadcrumbs`,
    )
    .action(async (paths: string[], flags: StripFlags) => {
      ctx.exitCode = flags.check ? await runStrip(paths, flags, ctx) : await withRunLock(ctx.cwd, () => runStrip(paths, flags, ctx));
    });
}

async function runStrip(paths: string[], flags: StripFlags, ctx: CommandContext): Promise<number> {
  const { cwd, output } = ctx;
  // --check of named files needs no manifest: a damaged one must not block a pre-commit hook.
  const manifests = flags.check && paths.length > 0 && !flags.manifest ? [] : loadManifests(cwd, flags.manifest, 'without-crumbs');
  const targets = paths.length > 0 ? expandPaths(cwd, paths, /\.[ch]$/) : recordedFiles(manifests, cwd);
  if (targets.length === 0) {
    throw new KcrumbError('usage', 'no files given and no manifest in .kcrumb/ records any', 'name the files: kcrumb strip FILE...');
  }
  if (flags.check) {
    const dirty = targets.map((path) => readSourceFile(cwd, path)).filter((f) => hasBreadcrumbs(f.text)).map((f) => f.path);
    if (flags.json) output.out(JSON.stringify({ instrumented: dirty }, null, 2));
    else for (const path of dirty) output.out(`${path}: still holds kcrumb breadcrumbs (run: ${shellCommand('kcrumb strip', [path])})`);
    return dirty.length > 0 ? EXIT_NO : EXIT_OK;
  }

  // File by file: read, strip, stage beside the target; rename all only when every file went well.
  const recorded = new RecordedSources(
    manifests.map((m) => m.manifest),
    (m, file) => manifestFilePath(m, file.path),
  );
  const templates = await knownTemplates(manifests.map((m) => m.manifest));
  noteRemoved(output, removeStaleTemps(cwd, targets, [join(cwd, MANIFEST_DIR)]));
  const files = targets.map((path) => readSourceFile(cwd, path));
  const unrecorded = files.filter((f) => hasBreadcrumbs(f.text) && !recorded.has(resolve(cwd, f.path)));
  if (unrecorded.length > 0 && !flags.unrecorded) {
    const names = unrecorded.map((f) => f.path);
    throw new KcrumbError(
      'usage',
      `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}: no manifest records ${names.length === 1 ? 'this file' : 'these files'}, so strip leaves ${names.length === 1 ? 'it' : 'them'} alone`,
      `strip them anyway: ${shellCommand('kcrumb strip --unrecorded', names)}`,
    );
  }
  const staged: StagedFile[] = [];
  const results: { path: string; removed: number; verdict: Verdict; problems?: SpanProblem[] }[] = [];
  try {
    for (const file of files) {
      if (!hasBreadcrumbs(file.text)) {
        results.push({ path: file.path, removed: 0, verdict: 'clean' });
        continue;
      }
      const { text, removed, problems, braced } = stripBreadcrumbs(file.text, templates);
      const verdict = verdictFor(recorded, resolve(cwd, file.path), text);
      // The original's hash proves the braces held what they held; otherwise check they still hold one statement.
      if (problems.length === 0 && verdict !== 'restored') problems.push(...(await editedBraces(text, braced)));
      if (problems.length > 0) {
        results.push({ path: file.path, removed: 0, verdict: 'left', problems });
        continue;
      }
      staged.push({ temp: stageFile(cwd, file.path, text), target: resolve(cwd, file.path) });
      results.push({ path: file.path, removed, verdict });
    }
  } catch (error) {
    discardStaged(staged);
    if (error instanceof KcrumbError) throw error;
    throw new KcrumbError('input', `cannot write: ${(error as Error).message}`);
  }
  commitStaged(staged);
  const left = results.some((r) => r.verdict === 'left');
  if (flags.json) {
    output.out(JSON.stringify({ files: results.map(({ path, removed, verdict, problems }) => ({ path, removed, verdict, ...(problems ? { problems } : {}) })) }, null, 2));
    return left ? EXIT_NO : EXIT_OK;
  }
  for (const r of results) {
    if (r.problems) {
      for (const p of r.problems) output.err(`${r.path}:${p.line}: ${paint(output, 'red', 'error')}: ${p.why}`);
      output.err(`${r.path}: left as it is (nothing removed): fix the lines above by hand, then run strip again`);
      continue;
    }
    const message: Record<Exclude<Verdict, 'left'>, string> = {
      restored: `removed ${r.removed} breadcrumbs; ${paint(output, 'green', 'identical to the original')} (sha256 matches the manifest)`,
      'edited-since': `removed ${r.removed} breadcrumbs; ${paint(output, 'yellow', 'differs from the original the manifest recorded')}: the file was edited since, and only breadcrumbs were removed`,
      'no-record': `removed ${r.removed} breadcrumbs (no manifest records this file, so no hash to compare)`,
      clean: 'no breadcrumbs, left as it was',
    };
    output.out(`${r.path}: ${message[r.verdict as Exclude<Verdict, 'left'>]}`);
  }
  return left ? EXIT_NO : EXIT_OK;
}

function verdictFor(recorded: RecordedSources, path: string, stripped: string): Verdict {
  if (!recorded.has(path)) return 'no-record';
  return recorded.recognise(path, stripped).some((r) => r.as === 'original') ? 'restored' : 'edited-since';
}

function recordedFiles(manifests: StoredManifest[], cwd: string): string[] {
  const paths = manifests.flatMap(({ manifest }) => manifest.files.map((f) => displayPath(cwd, manifestFilePath(manifest, f.path))));
  return [...new Set(paths)];
}
