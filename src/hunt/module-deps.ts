/**
 * Which kernel modules a module needs loaded first. The facts come from `modinfo -F depends` of each
 * module (comma-separated names) or from the kernel's modules.dep; the names in them spell - and _
 * either way (dm-mod is dm_mod), as the kernel does.
 */

/** A module's canonical name: dm-mod, dm_mod.ko and kernel/drivers/md/dm-mod.ko.xz are all dm_mod. */
export function moduleName(pathOrName: string): string {
  return pathOrName.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
}

/** `modinfo -F depends` output: "dm-bufio,dm-persistent-data" or nothing. */
export function parseDepends(text: string): string[] {
  return text.split(/[,\s]+/).filter(Boolean).map(moduleName);
}

/** modules.dep ("kernel/drivers/md/dm-thin-pool.ko: kernel/drivers/md/dm-bio-prison.ko ...") by module name. */
export function parseModulesDep(text: string): Map<string, { path: string; depends: string[] }> {
  const byName = new Map<string, { path: string; depends: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    byName.set(moduleName(path), { path, depends: line.slice(colon + 1).split(/\s+/).filter(Boolean).map(moduleName) });
  }
  return byName;
}

/**
 * Every module `roots` need, dependencies before their users (the order insmod must follow), roots
 * excluded. `dependsOf` returns undefined for a module it does not know: those are listed as missing.
 */
export function loadOrder(roots: string[], dependsOf: (name: string) => string[] | undefined): { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, isRoot: boolean) => {
    if (state.has(name)) return; // done, or a cycle (modules cannot have one; do not loop on bad data)
    state.set(name, 'visiting');
    const depends = isRoot ? (dependsOf(name) ?? []) : dependsOf(name);
    if (depends === undefined) missing.push(name);
    for (const dep of depends ?? []) visit(dep, false);
    state.set(name, 'done');
    if (!isRoot && depends !== undefined) order.push(name);
  };
  for (const root of roots) visit(moduleName(root), true);
  return { order, missing };
}
