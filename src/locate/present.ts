/**
 * The decisions between an answer and what locate-freeze prints, with no file or terminal touched: which
 * manifests are shadowed, how a file is named, which sources to check and what a mismatch says, which
 * lines of a source to show, and whether the answer is text on stdout, text on stderr or JSON. The CLI
 * (src/cli/run-locate-freeze.ts) reads the files these ask for and prints what they return.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Manifest } from '../manifest/schema.js';
import { manifestFilePath, RecordedSources } from '../manifest/recorded-sources.js';
import type { Answer } from './locate.js';
import { focusOf, formatText, type ReportPaths, type SourceWindow } from './report.js';

/** A manifest and the file it was read from. */
export interface ManifestAt {
  path: string;
  manifest: Manifest;
}

/** Two manifests of one tag: the first read is used, the later ones said to be ignored. */
export function duplicateTagWarnings(stored: readonly ManifestAt[]): string[] {
  const seen = new Map<string, string>();
  const warnings: string[] = [];
  for (const { path, manifest } of stored) {
    const first = seen.get(manifest.tag);
    if (first) warnings.push(`${path} has the same tag ${manifest.tag} as ${first}; using ${first}`);
    else seen.set(manifest.tag, path);
  }
  return warnings;
}

/** File paths relative to the working directory when inside it, else absolute while the tree exists, else as in the manifest. */
export function reportPaths(cwd: string, manifests: readonly Manifest[], exists: (path: string) => boolean): ReportPaths {
  const shown = manifests.map((m) =>
    m.files.map((file) => {
      const absolute = resolve(m.root, file.path);
      const rel = relative(cwd, absolute);
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
      return exists(m.root) ? absolute : file.path;
    }),
  );
  return { display: (m, f) => shown[m][f] };
}

/**
 * A source file that changed since instrumenting makes every line number suspect: say so, for each file a
 * trail of the answer printed from. `read` gives a file's text, or undefined when it cannot be read.
 */
export function sourceWarnings(answer: Answer, manifests: readonly Manifest[], read: (path: string) => string | undefined): string[] {
  const used = new Set(answer.threads.flatMap((t) => t.crumbs.map((s) => `${s.manifest}:${s.crumb.file}`)));
  const recorded = new RecordedSources(manifests, (m, file) => manifestFilePath(m, file.path));
  const warnings: string[] = [];
  for (const key of used) {
    const [m, f] = key.split(':').map(Number);
    const file = manifests[m].files[f];
    const absolute = manifestFilePath(manifests[m], file.path);
    const text = read(absolute);
    if (text === undefined) {
      warnings.push(`${absolute}: cannot read it to check it against manifest ${manifests[m].tag}; no source shown`);
    } else if (recorded.recognise(absolute, text).length === 0) {
      warnings.push(`${file.path} changed since kcrumb instrument (its sha256 matches neither the original nor the instrumented file): line numbers may be off`);
    }
  }
  return warnings;
}

/** The lines of `text` within `context` of `line`, or undefined past its end. */
export function sourceWindow(text: string, line: number, context: number): SourceWindow | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (line > lines.length) return undefined;
  const first = Math.max(1, line - context);
  return { firstLine: first, lines: lines.slice(first - 1, Math.min(lines.length, line + context)) };
}

/** The file the text answer shows lines of (the root's, or the last breadcrumb's), when it shows any. */
export function shownSource(answer: Answer, manifests: readonly Manifest[]): { path: string; line: number } | undefined {
  const shown = focusOf(answer);
  if (!shown) return undefined;
  const manifest = manifests[shown.manifest];
  return { path: manifestFilePath(manifest, manifest.files[shown.crumb.file].path), line: shown.crumb.line };
}

/** What to print and where: JSON and a found answer on stdout, the text of no answer on stderr. */
export interface Presented {
  stream: 'out' | 'err';
  text: string;
}

export async function presentAnswer(answer: Answer, paths: ReportPaths, as: { json: true } | { json?: false; source?: SourceWindow }): Promise<Presented> {
  if (as.json) {
    // loaded only when asked: every module costs start-up time
    const { formatJson } = await import('./answer-json.js');
    return { stream: 'out', text: JSON.stringify(formatJson(answer, paths), null, 2) };
  }
  const text = formatText(answer, { paths, source: as.source }).join('\n');
  return { stream: answer.status === 'found' ? 'out' : 'err', text };
}
