/**
 * Which functions `kcrumb zoom LOG FILES...` instruments at every line when the log has no breadcrumbs:
 * the functions of the kernel reports' stacks that the files define, and their callers on the default
 * selection path (the ops-struct and registration hooks of src/select, whose call and deferred-work graph
 * says who calls or queues them). A caller is where the bad value or the bad call came from when the
 * frame itself is innocent, and the stack of a work item or a callback does not show who queued it.
 */
import { KcrumbError } from '../errors.js';
import type { KernelReport } from '../reports/parse.js';
import { stackFunctions } from '../reports/title.js';
import { selectFunctions, type SelectableFile, type SelectedFunction } from '../select/select-functions.js';
import type { ZoomTarget } from './targets.js';

export interface StackTarget extends ZoomTarget {
  /** frame: on a report's stack; caller: a function of the default path that calls or queues one. */
  role: 'frame' | 'caller';
}

/** The frames first (innermost first, as the reports list them), then their callers, each once. */
export function reportTargets(reports: readonly KernelReport[], files: readonly SelectableFile[]): StackTarget[] {
  const defined = new Set(files.flatMap((f) => f.functions.map((fn) => fn.name)));
  const targets = new Map<string, StackTarget>();
  for (const report of reports) {
    for (const name of stackFunctions([report])) {
      if (defined.has(name) && !targets.has(name)) targets.set(name, { name, role: 'frame', reason: `on the stack of ${report.title || report.header}` });
    }
  }
  const frames = [...targets.keys()];
  const path = defaultPath(files);
  const nameOf = (at: { file: number; function: number }) => files[at.file].functions[at.function].name;
  const byName = new Map(path.map((s) => [nameOf(s), s]));
  for (const frame of frames) {
    const reached = byName.get(frame);
    for (const s of path) {
      const caller = nameOf(s);
      if (targets.has(caller)) continue;
      const calls = files[s.file].calls?.[s.function]?.includes(frame) ?? false;
      const leadsTo = reached?.via?.file === s.file && reached.via.function === s.function;
      if (!calls && !leadsTo) continue;
      const how = calls ? `calls ${frame}()` : `leads to ${frame}() (${reached!.reason})`;
      targets.set(caller, { name: caller, role: 'caller', reason: `${how}, on the default path: ${s.reason}` });
    }
  }
  return [...targets.values()];
}

/** The default selection of the files, or nothing when they have no hook (then only frames are zoomed). */
function defaultPath(files: readonly SelectableFile[]): SelectedFunction[] {
  try {
    return selectFunctions([...files], {}).selected;
  } catch (error) {
    if (error instanceof KcrumbError && error.code === 'no-selection') return [];
    throw error;
  }
}
