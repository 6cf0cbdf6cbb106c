import { resolve } from 'node:path';
import { Command } from 'commander';
import { KcrumbError } from '../../errors.js';
import { sha256 } from '../../manifest/hash.js';
import { hasBreadcrumbs, stripBreadcrumbs } from '../../strip/strip.js';
import type { CommandContext } from '../context.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { loadManifests, manifestFilePath, type StoredManifest } from '../manifest-store.js';
import { paint } from '../output.js';
import { commitStaged, discardStaged, displayPath, expandPaths, readSourceFile, stageFile, type StagedFile } from '../source-files.js';

interface StripFlags {
  check?: boolean;
  manifest?: string;
  json?: boolean;
}

type Verdict = 'restored' | 'edited-since' | 'no-record' | 'clean';

export function registerStrip(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Remove exactly what kcrumb instrument inserted, by its markers, and check the result against the ' +
        "original's hash in the manifest. Lines you edited meanwhile are kept; only breadcrumbs go. " +
        'With no file, strips every file recorded in the manifests of .kcrumb/.',
    )
    .argument('[file...]', 'C files or directories (default: the files the manifests record)')
    .option('--check', 'only list files that still hold breadcrumbs; exit 1 if any (for pre-commit hooks and CI)')
    .option('-m, --manifest <file|dir>', 'manifest(s) to check hashes against (default: .kcrumb/)')
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
      ctx.exitCode = runStrip(paths, flags, ctx);
    });
}

function runStrip(paths: string[], flags: StripFlags, ctx: CommandContext): number {
  const { cwd, output } = ctx;
  const manifests = loadManifests(cwd, flags.manifest, 'without-crumbs');
  const targets = paths.length > 0 ? expandPaths(cwd, paths, /\.[ch]$/) : recordedFiles(manifests, cwd);
  if (targets.length === 0) {
    throw new KcrumbError('usage', 'no files given and no manifest in .kcrumb/ records any', 'name the files: kcrumb strip FILE...');
  }
  if (flags.check) {
    const dirty = targets.map((path) => readSourceFile(cwd, path)).filter((f) => hasBreadcrumbs(f.text)).map((f) => f.path);
    if (flags.json) output.out(JSON.stringify({ instrumented: dirty }, null, 2));
    else for (const path of dirty) output.out(`${path}: still holds kcrumb breadcrumbs (run: kcrumb strip ${path})`);
    return dirty.length > 0 ? EXIT_NO : EXIT_OK;
  }

  // File by file: read, strip, stage beside the target; rename all only when every file went well.
  const recorded = recordsByPath(manifests);
  const staged: StagedFile[] = [];
  const results: { path: string; removed: number; verdict: Verdict }[] = [];
  try {
    for (const path of targets) {
      const file = readSourceFile(cwd, path);
      if (!hasBreadcrumbs(file.text)) {
        results.push({ path: file.path, removed: 0, verdict: 'clean' });
        continue;
      }
      const { text, removed } = stripBreadcrumbs(file.text, file.path);
      staged.push({ temp: stageFile(cwd, file.path, text), target: resolve(cwd, file.path) });
      results.push({ path: file.path, removed, verdict: verdictFor(text, recorded.get(resolve(cwd, file.path))) });
    }
  } catch (error) {
    discardStaged(staged);
    if (error instanceof KcrumbError) throw error;
    throw new KcrumbError('input', `cannot write: ${(error as Error).message}`);
  }
  commitStaged(staged);
  if (flags.json) {
    output.out(JSON.stringify({ files: results.map(({ path, removed, verdict }) => ({ path, removed, verdict })) }, null, 2));
    return EXIT_OK;
  }
  for (const r of results) {
    const message: Record<Verdict, string> = {
      restored: `removed ${r.removed} breadcrumbs; ${paint(output, 'green', 'identical to the original')} (sha256 matches the manifest)`,
      'edited-since': `removed ${r.removed} breadcrumbs; ${paint(output, 'yellow', 'differs from the original the manifest recorded')}: the file was edited since, and only breadcrumbs were removed`,
      'no-record': `removed ${r.removed} breadcrumbs (no manifest records this file, so no hash to compare)`,
      clean: 'no breadcrumbs, left as it was',
    };
    output.out(`${r.path}: ${message[r.verdict]}`);
  }
  return EXIT_OK;
}

/** The hashes the manifests recorded for each file, by absolute path. */
function recordsByPath(manifests: StoredManifest[]): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const { manifest } of manifests) {
    for (const f of manifest.files) {
      const path = manifestFilePath(manifest, f.path);
      byPath.set(path, [...(byPath.get(path) ?? []), f.originalSha256]);
    }
  }
  return byPath;
}

function verdictFor(text: string, originals: string[] | undefined): Verdict {
  if (!originals) return 'no-record';
  return originals.includes(sha256(text)) ? 'restored' : 'edited-since';
}

function recordedFiles(manifests: StoredManifest[], cwd: string): string[] {
  const paths = manifests.flatMap(({ manifest }) => manifest.files.map((f) => displayPath(cwd, manifestFilePath(manifest, f.path))));
  return [...new Set(paths)];
}
