/**
 * The whole of `kcrumb locate-freeze LOG` past its options: read the manifests and the log, answer, print.
 * Only the reading and printing are here; what to say and where is src/locate/present.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import { defaultKoPlaces, findKos, symbolizeReports } from './addr2line.js';
import { locateFreeze } from '../locate/locate.js';
import { duplicateTagWarnings, presentAnswer, reportPaths, shownSource, sourceWarnings, sourceWindow } from '../locate/present.js';
import type { ReportPaths } from '../locate/report.js';
import { CrumbResolver } from '../locate/resolve.js';
import { DEFAULT_LIMITS, latin1, readForward } from '../locate/read-log.js';
import type { CommandContext } from './context.js';
import { EXIT_NO, EXIT_OK } from './exit-codes.js';
import { logStream, readLogArgument, withLogFile } from './log-file.js';
import { loadManifests, manifestFilePath } from './manifest-store.js';
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
  const paths = reportPaths(ctx.cwd, manifests, existsSync);
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
  answer.warnings.unshift(...warnings, ...sourceWarnings(answer, manifests, readText));
  for (const warning of answer.warnings) ctx.output.err(`kcrumb: warning: ${warning}`);

  // --json (in presentAnswer), --lcov and --annotate load their formatters only when asked: start-up time
  const shown = flags.json ? undefined : shownSource(answer, manifests);
  const text = shown && readShown(shown.path);
  const source = text === undefined || !shown ? undefined : sourceWindow(text, shown.line, flags.context);
  const presented = await presentAnswer(answer, paths, flags.json ? { json: true } : { source });
  ctx.output[presented.stream](presented.text);
  if (lcovPath) {
    const { formatLcov } = await import('../locate/lcov.js');
    const absolute = (m: number, f: number) => manifestFilePath(manifests[m], manifests[m].files[f].path);
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

/** A source's text, or undefined when it cannot be read. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** Source bytes as the user's editor shows them: UTF-8 when they are, else latin1 (one char per byte). */
function readShown(path: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
