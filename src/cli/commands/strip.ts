import { resolve } from 'node:path';
import { Command } from 'commander';
import { KcrumbError } from '../../errors.js';
import { sha256 } from '../../manifest/hash.js';
import { hasBreadcrumbs, stripBreadcrumbs } from '../../strip/strip.js';
import type { CommandContext } from '../context.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { loadManifests, manifestFilePath, type StoredManifest } from '../manifest-store.js';
import { paint } from '../output.js';
import { displayPath, expandPaths, readSourceFiles, writeFilesAtomically } from '../source-files.js';

interface StripFlags {
  check?: boolean;
  manifest?: string;
  json?: boolean;
}

type Verdict = 'restored' | 'edited-since' | 'no-record' | 'clean';

export function registerStrip(program: Command, ctx: CommandContext): void {
  program
    .command('strip')
    .alias('revert')
    .summary('remove the breadcrumbs again, byte for byte')
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
  const manifests = loadManifests(cwd, flags.manifest);
  const targets = paths.length > 0 ? expandPaths(cwd, paths, /\.[ch]$/) : recordedFiles(manifests, cwd);
  if (targets.length === 0) {
    throw new KcrumbError('usage', 'no files given and no manifest in .kcrumb/ records any', 'name the files: kcrumb strip FILE...');
  }
  const files = readSourceFiles(cwd, targets);

  if (flags.check) {
    const dirty = files.filter((f) => hasBreadcrumbs(f.text));
    if (flags.json) output.out(JSON.stringify({ instrumented: dirty.map((f) => f.path) }, null, 2));
    else for (const f of dirty) output.out(`${f.path}: still holds kcrumb breadcrumbs (run: kcrumb strip ${f.path})`);
    return dirty.length > 0 ? EXIT_NO : EXIT_OK;
  }

  const results = files.map((file) => {
    if (!hasBreadcrumbs(file.text)) return { path: file.path, removed: 0, verdict: 'clean' as Verdict, text: file.text };
    const { text, removed } = stripBreadcrumbs(file.text, file.path);
    return { path: file.path, removed, verdict: verdictFor(text, file.path, manifests, cwd), text };
  });
  writeFilesAtomically(
    cwd,
    results.filter((r) => r.removed > 0).map((r) => ({ path: r.path, text: r.text, encoding: 'latin1' as const })),
  );
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

function verdictFor(text: string, path: string, manifests: StoredManifest[], cwd: string): Verdict {
  const absolute = resolve(cwd, path);
  const records = manifests.flatMap(({ manifest }) =>
    manifest.files.filter((f) => manifestFilePath(manifest, f.path) === absolute),
  );
  if (records.length === 0) return 'no-record';
  const hash = sha256(text);
  return records.some((f) => f.originalSha256 === hash) ? 'restored' : 'edited-since';
}

function recordedFiles(manifests: StoredManifest[], cwd: string): string[] {
  const paths = manifests.flatMap(({ manifest }) => manifest.files.map((f) => displayPath(cwd, manifestFilePath(manifest, f.path))));
  return [...new Set(paths)];
}
