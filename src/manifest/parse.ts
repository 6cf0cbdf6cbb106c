import { KcrumbError } from '../errors.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest } from './schema.js';

/**
 * Reads a manifest from its JSON text; `source` names it in errors. Checks shape, not file hashes.
 * `oldest`: the oldest version the caller can use (strip needs only files: OLDEST_READABLE_VERSION).
 */
export function parseManifest(json: string, source: string, oldest = MANIFEST_VERSION): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new KcrumbError('manifest', `${source}: not a kcrumb manifest (not JSON)`);
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
  m.crumbs.forEach((crumb, index) => {
    if (crumb.id !== index + 1 || !m.files![crumb.file]) {
      throw new KcrumbError('manifest', `${source}: breadcrumb entry ${index + 1} is malformed`);
    }
  });
  return m as Manifest;
}
