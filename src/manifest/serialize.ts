import { MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest, type ManifestCrumb, type ManifestFunction } from './schema.js';

/**
 * The manifest's JSON, written in pieces so a run over a whole kernel tree (millions of breadcrumbs) never
 * holds it as one string: the run's fields, then the breadcrumbs one per line as they are numbered, then
 * files, functions and skipped functions. serializeManifest gives the same bytes in one piece.
 */
export function manifestHead(header: Omit<Manifest, 'schema' | 'version' | 'files' | 'functions' | 'skipped' | 'skippedFiles' | 'crumbs' | 'deferred'>): string {
  const fields = { schema: MANIFEST_SCHEMA, version: MANIFEST_VERSION, ...header };
  const lines = Object.entries(fields).map(([key, value]) => ` ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  return `{\n${lines.join('\n')}\n "crumbs": [`;
}

/** One breadcrumb's line; `first` for the first of the manifest. */
export function crumbLine(crumb: ManifestCrumb, first: boolean): string {
  return `${first ? '\n' : ',\n'}  ${JSON.stringify(crumb)}`;
}

export function manifestTail(manifest: Pick<Manifest, 'files' | 'functions' | 'skipped' | 'skippedFiles' | 'deferred'>): string {
  return tailBeforeFunctions(manifest) + list(manifest.functions) + tailAfterFunctions(manifest);
}

/** The tail up to the function list, for a writer that streams the functions itself (functionLine). */
export function tailBeforeFunctions(manifest: Pick<Manifest, 'files'>): string {
  return `\n ],\n "files": ${list(manifest.files)},\n "functions": `;
}

/** One entry of the function list as streamed: `[` before the first, `,` before the others; close with `\n ]`. */
export function functionLine(fn: ManifestFunction, first: boolean): string {
  return `${first ? '[\n' : ',\n'}  ${JSON.stringify(fn)}`;
}

export const EMPTY_LIST = '[]';
export const STREAMED_LIST_END = '\n ]';

export function tailAfterFunctions(manifest: Pick<Manifest, 'skipped' | 'skippedFiles' | 'deferred'>): string {
  const files = manifest.skippedFiles ? `,\n "skippedFiles": ${list(manifest.skippedFiles)}` : '';
  const deferred = manifest.deferred ? `,\n "deferred": ${list(manifest.deferred)}` : '';
  return `,\n "skipped": ${list(manifest.skipped)}${files}${deferred}\n}\n`;
}

function list(items: unknown[]): string {
  return items.length === 0 ? EMPTY_LIST : `[\n${items.map((item) => `  ${JSON.stringify(item)}`).join(',\n')}${STREAMED_LIST_END}`;
}

export function serializeManifest(manifest: Manifest): string {
  const { schema: _schema, version: _version, files, functions, skipped, skippedFiles, crumbs, deferred, ...header } = manifest;
  return manifestHead(header) + crumbs.map((crumb, i) => crumbLine(crumb, i === 0)).join('') + manifestTail({ files, functions, skipped, skippedFiles, deferred });
}
