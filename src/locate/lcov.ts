import type { Manifest } from '../manifest/schema.js';
import type { Boot } from './analyze.js';

/**
 * lcov tracefile: every breadcrumb line of every manifest that printed in this boot, with how often it
 * printed (0 for the ones that never did), so a coverage view shows the path the kernel took.
 */
export function formatLcov(boot: Boot, manifests: readonly Manifest[], absolutePath: (manifest: number, file: number) => string): string {
  const out: string[] = [];
  manifests.forEach((manifest, m) => {
    const printed = boot.printed[m];
    if (!printed.some((count) => count > 0)) return;
    manifest.files.forEach((_, f) => {
      const lines = new Map<number, number>();
      for (const c of manifest.crumbs) if (c.file === f) lines.set(c.line, (lines.get(c.line) ?? 0) + printed[c.id - 1]);
      if (lines.size === 0) return;
      out.push('TN:kcrumb', `SF:${absolutePath(m, f)}`);
      const functions = manifest.functions.filter((fn) => fn.file === f && fn.crumbs);
      for (const fn of functions) out.push(`FN:${fn.line},${fn.name}`);
      let hit = 0;
      for (const fn of functions) {
        const [from, to] = fn.crumbs!;
        const count = Math.max(0, ...printed.slice(from - 1, to));
        if (count > 0) hit++;
        out.push(`FNDA:${count},${fn.name}`);
      }
      out.push(`FNF:${functions.length}`, `FNH:${hit}`);
      const sorted = [...lines].sort((a, b) => a[0] - b[0]);
      for (const [line, count] of sorted) out.push(`DA:${line},${count}`);
      out.push(`LF:${sorted.length}`, `LH:${sorted.filter(([, count]) => count > 0).length}`, 'end_of_record');
    });
  });
  return out.length ? out.join('\n') + '\n' : '';
}
