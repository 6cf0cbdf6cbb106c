import { posix } from 'node:path';
import { TAG_PATTERN } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION, OLDEST_LOCATABLE_VERSION, type CrumbKind, type Manifest } from './schema.js';
import { deferredFromReasons } from './upgrade.js';

const KINDS: readonly CrumbKind[] = ['entry', 'exit', 'return', 'branch', 'loop', 'case', 'label', 'statement'];
const LEVELS = ['functions', 'branches', 'every-line'];
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads a manifest from its JSON text; `source` names it in errors. Everything is checked against the
 * schema before anything is believed (a manifest is a file anyone can edit): types, whole numbers in
 * range, breadcrumb lines inside their function, file paths inside the run's root. Not file hashes.
 * `oldest`: the oldest version the caller can use (strip needs only files: OLDEST_READABLE_VERSION).
 */
export function parseManifest(json: string, source: string, oldest = OLDEST_LOCATABLE_VERSION): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new KcrumbError('manifest', `${source}: not a kcrumb manifest (not JSON)`, 'remove or restore it: kcrumb reads every manifest in .kcrumb/');
  }
  const m = data as Partial<Manifest>;
  if (!m || typeof m !== 'object' || m.schema !== MANIFEST_SCHEMA) {
    throw new KcrumbError('manifest', `${source}: not a kcrumb manifest (no "schema": "${MANIFEST_SCHEMA}")`);
  }
  if (typeof m.version !== 'number' || m.version > MANIFEST_VERSION) {
    throw new KcrumbError('manifest', `${source}: manifest version ${String(m.version)} is newer than this kcrumb's (${MANIFEST_VERSION})`, 'use the kcrumb version that wrote it');
  }
  if (m.version < oldest) {
    // Version 1 recorded no lock and wait operations: its breadcrumbs cannot be reasoned over.
    throw new KcrumbError(
      'manifest',
      `${source}: manifest version ${m.version} was written by an older kcrumb (this one reads version ${MANIFEST_VERSION})`,
      'strip the sources with this kcrumb, then instrument them again',
    );
  }
  if (typeof m.tag !== 'string' || !Array.isArray(m.files) || !Array.isArray(m.crumbs) || !Array.isArray(m.functions)) {
    throw new KcrumbError('manifest', `${source}: manifest is missing tag, files, functions or crumbs`);
  }
  checkManifest(m as Manifest, (what) => {
    throw new KcrumbError('manifest', `${source}: ${what}`, 'the manifest was edited or damaged: instrument again, or restore it');
  });
  if (m.version === 2) m.deferred = deferredFromReasons(m as Manifest);
  return m as Manifest;
}

function checkManifest(m: Manifest, bad: (what: string) => never): void {
  const count = (value: unknown, where: string, min = 1): number => {
    if (!Number.isSafeInteger(value) || (value as number) < min) bad(`${where} is ${JSON.stringify(value)}, not a whole number from ${min}`);
    return value as number;
  };
  const text = (value: unknown, where: string): string => {
    if (typeof value !== 'string') bad(`${where} is ${JSON.stringify(value)}, not a string`);
    return value as string;
  };
  const fileIndex = (value: unknown, where: string) => {
    if (count(value, where, 0) >= m.files.length) bad(`${where} is ${String(value)}: there are ${m.files.length} files`);
  };
  if (!TAG_PATTERN.test(m.tag)) bad(`tag ${JSON.stringify(m.tag)} is not k and three of [0-9a-z]`);
  text(m.root, 'root');
  if (!LEVELS.includes(m.level)) bad(`level ${JSON.stringify(m.level)} is not one of ${LEVELS.join(', ')}`);
  if (m.loopLimit !== undefined) count(m.loopLimit, 'loopLimit');
  if (m.templateStatement !== undefined) text(m.templateStatement, 'templateStatement');
  m.files.forEach((f, i) => {
    const path = text(f?.path, `files[${i}].path`);
    const normal = posix.normalize(path);
    if (path === '' || path.includes('\0') || posix.isAbsolute(path) || normal === '..' || normal.startsWith('../')) {
      bad(`files[${i}].path ${JSON.stringify(path)} is not a path inside the run's root`);
    }
    for (const key of ['originalSha256', 'instrumentedSha256'] as const) {
      if (!SHA256.test(text(f[key], `files[${i}].${key}`))) bad(`files[${i}].${key} is not a sha256 in hex`);
    }
  });
  const functions = new Map<string, [number, number][]>();
  m.functions.forEach((fn, i) => {
    const where = `functions[${i}]`;
    text(fn?.name, `${where}.name`);
    fileIndex(fn.file, `${where}.file`);
    const line = count(fn.line, `${where}.line`);
    if (count(fn.endLine, `${where}.endLine`) < line) bad(`${where}.endLine ${fn.endLine} is before its line ${line}`);
    if (fn.crumbs !== undefined && (!Array.isArray(fn.crumbs) || fn.crumbs.length !== 2)) bad(`${where}.crumbs is not [first, last]`);
    if (fn.crumbs) fn.crumbs.forEach((id, k) => count(id, `${where}.crumbs[${k}]`));
    const key = `${fn.file}:${fn.name}`;
    functions.set(key, [...(functions.get(key) ?? []), [line, fn.endLine]]);
  });
  (m.skipped ?? []).forEach((s, i) => {
    text(s?.name, `skipped[${i}].name`);
    fileIndex(s.file, `skipped[${i}].file`);
    count(s.line, `skipped[${i}].line`);
  });
  if (m.deferred !== undefined && !Array.isArray(m.deferred)) bad('deferred is not a list');
  (m.deferred ?? []).forEach((d, i) => {
    text(d?.call, `deferred[${i}].call`);
    text(d.handler, `deferred[${i}].handler`);
    text(d.runs, `deferred[${i}].runs`);
    if (d.member !== undefined) text(d.member, `deferred[${i}].member`);
    fileIndex(d.file, `deferred[${i}].file`);
    count(d.line, `deferred[${i}].line`);
  });
  m.crumbs.forEach((crumb, i) => {
    const where = `breadcrumb #${i + 1}`;
    if (!crumb || typeof crumb !== 'object' || crumb.id !== i + 1) bad(`${where}: its entry is malformed (id ${JSON.stringify(crumb?.id)})`);
    fileIndex(crumb.file, `${where} file`);
    const line = count(crumb.line, `${where} line`);
    count(crumb.column, `${where} column`);
    const name = text(crumb.function, `${where} function`);
    text(crumb.statement, `${where} statement`);
    if (!KINDS.includes(crumb.kind)) bad(`${where} kind ${JSON.stringify(crumb.kind)} is not one of ${KINDS.join(', ')}`);
    if (!Array.isArray(crumb.next)) bad(`${where} next is not a list`);
    crumb.next.forEach((id, k) => count(id, `${where} next[${k}]`));
    if (crumb.calls !== undefined && (!Array.isArray(crumb.calls) || crumb.calls.some((c) => typeof c !== 'string'))) bad(`${where} calls is not a list of names`);
    if (crumb.context !== undefined && typeof crumb.context !== 'string') bad(`${where} context is not a name`);
    // A manifest read without its function list (strip of a huge one) has none to check against.
    const ranges = functions.get(`${crumb.file}:${name}`);
    if (m.functions.length > 0 && !ranges?.some(([from, to]) => from <= line && line <= to)) {
      bad(`${where} line ${line} is outside its function ${name}`);
    }
  });
}
