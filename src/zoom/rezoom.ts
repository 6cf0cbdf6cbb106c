/**
 * The text half of `kcrumb zoom`: take the files of a coarse run as they are now, check each is exactly
 * what that run wrote (or already stripped back to the original), strip them, and instrument only the
 * chosen functions at every line under a new tag.
 */
import { InternalError, KcrumbError } from '../errors.js';
import { instrumentSources, type InstrumentResult, type SourceFile } from '../instrument/instrument.js';
import type { Template } from '../breadcrumb.js';
import { sha256 } from '../manifest/hash.js';
import type { Recognised } from '../manifest/recorded-sources.js';
import type { Manifest } from '../manifest/schema.js';
import { hasBreadcrumbs, stripBreadcrumbs } from '../strip/strip.js';
import { recordReasons, type ZoomTarget } from './targets.js';

export interface RezoomInput {
  /** The coarse run's manifest. */
  manifest: Manifest;
  /** Current text of each of its files, in manifest order (paths as in the manifest). */
  texts: string[];
  targets: ZoomTarget[];
  template: Template;
  tag: string;
  /** Every known run that recorded this text of the file (manifest path): as its original, or as what it wrote. */
  recognise: (path: string, text: string) => Recognised[];
  now?: Date;
}

export interface RezoomResult {
  /** Every file of the coarse run, stripped, with the new breadcrumbs where a target lives. */
  files: SourceFile[];
  /** The new run. */
  result: InstrumentResult;
  /** Targets that got no breadcrumb (not found, or skipped as unsafe), with why. */
  missed: string[];
}

export async function rezoom(input: RezoomInput): Promise<RezoomResult> {
  const { manifest } = input;
  const stripped = manifest.files.map((file, i) => {
    const text = input.texts[i];
    const runs = input.recognise(file.path, text);
    const by = (as: Recognised['as']) => runs.find((r) => r.as === as && r.tag === manifest.tag);
    if (by('original') && !hasBreadcrumbs(text)) return { path: file.path, text };
    const other = by('instrumented') ? undefined : runs.find((r) => r.as === 'instrumented')?.tag;
    if (other) {
      throw new KcrumbError(
        'input',
        `${file.path} now holds the breadcrumbs of run ${other}, not of ${manifest.tag} (zoomed already?)`,
        `build and reproduce with run ${other}, then: kcrumb locate-freeze LOG`,
      );
    }
    if (!by('instrumented')) {
      throw new KcrumbError(
        'input',
        `${file.path} changed since kcrumb instrument wrote it (tag ${manifest.tag}): its line numbers no longer match the log`,
        `strip it (kcrumb strip ${file.path}), instrument again, reproduce, then zoom`,
      );
    }
    const out = stripBreadcrumbs(text, [input.template]).text;
    if (sha256(out) !== file.originalSha256) throw new InternalError(`${file.path}: stripping did not give back the original`);
    return { path: file.path, text: out };
  });
  const result = await instrumentSources(stripped, {
    level: 'every-line',
    functions: input.targets.map((t) => t.name),
    template: input.template,
    tag: input.tag,
    root: manifest.root,
    now: input.now,
  });
  recordReasons(result, input.targets, `zoom from ${manifest.tag}`);
  const got = new Set(result.selected.filter((s) => s.crumbs > 0).map((s) => s.name));
  const missed = input.targets
    .filter((t) => !got.has(t.name))
    .map((t) => {
      const skip = result.skipped.find((s) => s.name === t.name);
      return skip ? `${t.name}: skipped: ${skip.reason}` : `${t.name}: not defined in the run's files`;
    });
  const outputs = new Map(result.outputs.map((o) => [o.path, o.text]));
  const files = stripped.map((f) => ({ path: f.path, text: outputs.get(f.path) ?? f.text }));
  return { files, result, missed };
}
