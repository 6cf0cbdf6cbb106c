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

/**
 * Does `caller` reach `callee` through calls between instrumented functions? A backtrace frame in the
 * caller while the last breadcrumb is in the callee then agrees: the compiler inlined the callee.
 */
export function reachesByCalls(manifest: Manifest, caller: string, callee: string): boolean {
  const calls = new Map<string, Set<string>>();
  for (const crumb of manifest.crumbs) {
    for (const name of crumb.calls ?? []) {
      const set = calls.get(crumb.function) ?? new Set<string>();
      set.add(name);
      calls.set(crumb.function, set);
    }
  }
  const seen = new Set([caller]);
  const queue = [caller];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const next of calls.get(name) ?? []) {
      if (next === callee) return true;
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}
