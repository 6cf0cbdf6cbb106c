/** The whole of `kcrumb locate-freeze LOG` past its options: read the manifests and the log, answer, print. */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { defaultKoPlaces, findKos, symbolizeReports } from './addr2line.js';
import { locateFreeze, type Answer } from '../locate/locate.js';
import { focusOf, formatText, type ReportPaths, type SourceWindow } from '../locate/report.js';
import { CrumbResolver } from '../locate/resolve.js';
import { DEFAULT_LIMITS, latin1, readForward } from '../locate/read-log.js';
import { RecordedSources } from '../manifest/recorded-sources.js';
import type { Manifest } from '../manifest/schema.js';
import type { CommandContext } from './context.js';
import { EXIT_NO, EXIT_OK } from './exit-codes.js';
import { logStream, readLogArgument, withLogFile } from './log-file.js';
import { loadManifests, manifestFilePath, type StoredManifest } from './manifest-store.js';
import { checkOutputPath, writeFilesAtomically } from './source-files.js';

export interface LocateFlags {
  manifest?: string;
  trail: number;
  context: number;
  json?: boolean;
  lcov?: string;
  annotate?: boolean;
  /** Module files or folders of them, to resolve the reports' frames to lines (default: beside the sources). */
  ko?: string;
}

/** The whole of `kcrumb locate-freeze LOG`: prints the answer, returns the exit code (watch calls it too). */
export async function runLocateFreeze(ctx: CommandContext, log: string, flags: LocateFlags): Promise<number> {
  const lcovPath = flags.lcov === undefined ? undefined : checkOutputPath(ctx.cwd, flags.lcov, '--lcov', 'lcov');
  const stored = loadManifests(ctx.cwd, flags.manifest);
  const warnings = duplicateTagWarnings(stored);
  const manifests = stored.map((s) => s.manifest);
  const resolver = new CrumbResolver(manifests);
  const paths = reportPaths(ctx.cwd, manifests);
  if (flags.annotate) return annotate(ctx, log, resolver, paths);

  const { analysis, fromStart, toEnd } = await readLogArgument(ctx, log, resolver, flags.trail);
  if (analysis.textLines === 0 && !analysis.boot) {
    throw new KcrumbError('input', `${log}: ${analysis.bytes === 0 ? 'is empty' : 'has no text lines: not a kernel log'}`);
  }
  // A log of an uninstrumented module is read for the kernel's reports alone; without those it needs a manifest.
  if (stored.length === 0 && analysis.reports.length === 0) {
    const where = flags.manifest ? `${flags.manifest} (no *.json written by kcrumb instrument there)` : resolve(ctx.cwd, '.kcrumb');
    throw new KcrumbError('no-manifest', `no manifest in ${where}, and no kernel report in ${log}`);
  }
  const kos = findKos(flags.ko ? flags.ko.split(',').map((p) => resolve(ctx.cwd, p)) : defaultKoPlaces(manifests));
  const symbolNotes = symbolizeReports(analysis.reports, kos);
  const answer = locateFreeze({ analysis, resolver, fromStart, toEnd });
  answer.warnings.push(...symbolNotes);
  answer.warnings.unshift(...warnings, ...sourceWarnings(answer, manifests));
  for (const warning of answer.warnings) ctx.output.err(`kcrumb: warning: ${warning}`);

  // --json, --lcov and --annotate load their formatters only when asked: every module costs start-up time
  if (flags.json) {
    const { formatJson } = await import('../locate/answer-json.js');
    ctx.output.out(JSON.stringify(formatJson(answer, paths), null, 2));
  } else {
    const shown = focusOf(answer);
    const source = shown ? sourceWindow(manifests[shown.manifest], shown.crumb.file, shown.crumb.line, flags.context) : undefined;
    const lines = formatText(answer, { paths, source });
    if (answer.status === 'found') ctx.output.out(lines.join('\n'));
    else ctx.output.err(lines.join('\n'));
  }
  if (lcovPath) {
    const { formatLcov } = await import('../locate/lcov.js');
    const absolute = (m: number, f: number) => resolve(manifests[m].root, manifests[m].files[f].path);
    writeFilesAtomically(ctx.cwd, [{ path: lcovPath, text: analysis.boot ? formatLcov(analysis.boot, manifests, absolute) : '', encoding: 'utf8' }]);
  }
  return answer.status === 'found' ? EXIT_OK : EXIT_NO;
}

async function annotate(ctx: CommandContext, log: string, resolver: CrumbResolver, paths: ReportPaths): Promise<number> {
  const { annotateLine } = await import('../locate/annotate.js');
  let carry = '';
  let found = false;
  const emit = (text: string, final: boolean) => {
    const lines = (carry + text).split('\n');
    carry = final ? '' : lines.pop()!;
    if (final && lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) return;
    const out = lines.map((line) => annotateLine(line, resolver, paths));
    if (!found) found = out.some((line, i) => line.length !== lines[i].replace(/\r$/, '').length);
    ctx.output.out(out.join('\n'));
  };
  const stream = logStream(ctx, log);
  if (stream) {
    for await (const chunk of stream) emit(latin1(chunk as string | Buffer), false);
  } else {
    withLogFile(ctx.cwd, log, (file) => readForward(file, 0, file.size, DEFAULT_LIMITS.chunkBytes, (text) => emit(text, false)));
  }
  emit('', true);
  return found ? EXIT_OK : EXIT_NO;
}

/** File paths relative to the working directory when inside it, else absolute, else as in the manifest. */
function reportPaths(cwd: string, manifests: Manifest[]): ReportPaths {
  const shown = manifests.map((m) =>
    m.files.map((file) => {
      const absolute = resolve(m.root, file.path);
      const rel = relative(cwd, absolute);
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
      return existsSync(m.root) ? absolute : file.path;
    }),
  );
  return { display: (m, f) => shown[m][f] };
}

function duplicateTagWarnings(stored: StoredManifest[]): string[] {
  const seen = new Map<string, string>();
  const warnings: string[] = [];
  for (const { path, manifest } of stored) {
    const first = seen.get(manifest.tag);
    if (first) warnings.push(`${path} has the same tag ${manifest.tag} as ${first}; using ${first}`);
    else seen.set(manifest.tag, path);
  }
  return warnings;
}

/** A source file that changed since instrumenting makes every line number suspect: say so. */
function sourceWarnings(answer: Answer, manifests: Manifest[]): string[] {
  const used = new Set(answer.threads.flatMap((t) => t.crumbs.map((s) => `${s.manifest}:${s.crumb.file}`)));
  const recorded = new RecordedSources(manifests, (m, file) => manifestFilePath(m, file.path));
  const warnings: string[] = [];
  for (const key of used) {
    const [m, f] = key.split(':').map(Number);
    const file = manifests[m].files[f];
    const absolute = manifestFilePath(manifests[m], file.path);
    let text: string;
    try {
      text = readFileSync(absolute, 'latin1');
    } catch {
      warnings.push(`${absolute}: cannot read it to check it against manifest ${manifests[m].tag}; no source shown`);
      continue;
    }
    if (recorded.recognise(absolute, text).length === 0) {
      warnings.push(
        `${file.path} changed since kcrumb instrument (its sha256 matches neither the original nor the instrumented file): line numbers may be off`,
      );
    }
  }
  return warnings;
}

/** Source bytes as the user's editor shows them: UTF-8 when they are, else latin1 (one char per byte). */
function asShown(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function sourceWindow(manifest: Manifest, file: number, line: number, context: number): SourceWindow | undefined {
  let text: string;
  try {
    text = asShown(readFileSync(resolve(manifest.root, manifest.files[file].path)));
  } catch {
    return undefined;
  }
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (line > lines.length) return undefined;
  const first = Math.max(1, line - context);
  return { firstLine: first, lines: lines.slice(first - 1, Math.min(lines.length, line + context)) };
}

