import type { Manifest, ManifestCrumb } from './schema.js';

/**
 * The breadcrumbs that could print right after `crumb`: its `next` within the function, and the entry
 * breadcrumb of each instrumented function its statement calls (that function's first breadcrumb).
 */
export function successorsOf(manifest: Manifest, crumb: ManifestCrumb): ManifestCrumb[] {
  const ids = new Set(crumb.next);
  for (const name of crumb.calls ?? []) {
    const named = manifest.functions.filter((fn) => fn.name === name && fn.crumbs);
    // A static function of the caller's own file wins over same-named ones elsewhere.
    const local = named.filter((fn) => fn.file === crumb.file);
    for (const fn of local.length > 0 ? local : named) ids.add(fn.crumbs![0]);
  }
  return [...ids].map((id) => manifest.crumbs[id - 1]).filter((c): c is ManifestCrumb => c !== undefined);
}
