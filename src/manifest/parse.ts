import { KcrumbError } from '../errors.js';
import { MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest } from './schema.js';

/** Reads a manifest from its JSON text; `source` names it in errors. Checks shape, not file hashes. */
export function parseManifest(json: string, source: string): Manifest {
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
  if (m.version !== MANIFEST_VERSION) {
    throw new KcrumbError(
      'manifest',
      `${source}: manifest version ${String(m.version)} is not ${MANIFEST_VERSION}`,
      'instrument again with this kcrumb, or use the kcrumb version that wrote it',
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
