import { MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest, type ManifestCrumb } from './schema.js';

/**
 * The manifest's JSON, written in pieces so a run over a whole kernel tree (millions of breadcrumbs) never
 * holds it as one string: the run's fields, then the breadcrumbs one per line as they are numbered, then
 * files, functions and skipped functions. serializeManifest gives the same bytes in one piece.
 */
export function manifestHead(header: Omit<Manifest, 'schema' | 'version' | 'files' | 'functions' | 'skipped' | 'skippedFiles' | 'crumbs'>): string {
  const fields = { schema: MANIFEST_SCHEMA, version: MANIFEST_VERSION, ...header };
  const lines = Object.entries(fields).map(([key, value]) => ` ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  return `{\n${lines.join('\n')}\n "crumbs": [`;
}

/** One breadcrumb's line; `first` for the first of the manifest. */
export function crumbLine(crumb: ManifestCrumb, first: boolean): string {
  return `${first ? '\n' : ',\n'}  ${JSON.stringify(crumb)}`;
}

export function manifestTail(manifest: Pick<Manifest, 'files' | 'functions' | 'skipped' | 'skippedFiles'>): string {
  const list = (items: unknown[]) => (items.length === 0 ? '[]' : `[\n${items.map((item) => `  ${JSON.stringify(item)}`).join(',\n')}\n ]`);
  const files = manifest.skippedFiles ? `,\n "skippedFiles": ${list(manifest.skippedFiles)}` : '';
  return `\n ],\n "files": ${list(manifest.files)},\n "functions": ${list(manifest.functions)},\n "skipped": ${list(manifest.skipped)}${files}\n}\n`;
}

export function serializeManifest(manifest: Manifest): string {
  const { schema: _schema, version: _version, files, functions, skipped, skippedFiles, crumbs, ...header } = manifest;
  return manifestHead(header) + crumbs.map((crumb, i) => crumbLine(crumb, i === 0)).join('') + manifestTail({ files, functions, skipped, skippedFiles });
}
