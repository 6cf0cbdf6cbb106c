/**
 * Filter mode, like the kernel's decode_stacktrace.sh: every line passes through, and a line with a
 * breadcrumb of ours gets `file:line:column function` appended in place.
 */
import { findCrumbs } from '../breadcrumb.js';
import type { CrumbResolver } from './resolve.js';
import type { ReportPaths } from './report.js';

export function annotateLine(raw: string, resolver: CrumbResolver, paths: ReportPaths): string {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (!line.includes('#')) return line;
  const notes: string[] = [];
  for (const hit of findCrumbs(line)) {
    const found = resolver.resolve(hit);
    if (!found.ok) continue;
    const c = found.crumb;
    notes.push(`${paths.display(found.manifest, c.file)}:${c.line}:${c.column} ${c.function}`);
  }
  return notes.length ? `${line}  <- ${notes.join(', ')}` : line;
}
