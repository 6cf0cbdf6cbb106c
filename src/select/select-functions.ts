import { KcrumbError } from '../errors.js';
import type { DeferredEdge } from './deferred-work.js';
import { DEFAULT_HOOKS, type HookBinding } from './target-hooks.js';

/** What selection needs to know about one parsed file. */
export interface SelectableFile {
  path: string;
  functions: { name: string }[];
  hooks: HookBinding[];
  /** Names each function calls, by function index: needed only to select from hooks. */
  calls?: string[][];
  /** Deferred-work edges each function has, by function index (see deferred-work.ts). */
  deferred?: DeferredEdge[][];
  /** Registrations at file scope (`static DECLARE_WORK(name, fn);`). */
  fileDeferred?: DeferredEdge[];
}

export interface SelectedFunction {
  file: number;
  function: number;
  /** Why: `.map = remap_map -> remap_find` or `--functions remap_*`. */
  reason: string;
}

export interface SelectOptions {
  /** Names and globs; when given, replaces the default selection (see instrument/instrument.ts). */
  functions?: string[];
  /** target_type fields to start from (default DEFAULT_HOOKS). */
  hooks?: string[];
  /** How many calls deep to follow from a hook (default: no limit). */
  depth?: number;
}

export interface Selection {
  selected: SelectedFunction[];
  warnings: string[];
}

/** The default selection: every hook of every target_type, and what they call, transitively. */
export function selectFunctions(files: SelectableFile[], options: SelectOptions): Selection {
  const hooks = new Set(options.hooks ?? DEFAULT_HOOKS);
  const depthLimit = options.depth ?? Infinity;
  const byName = indexByName(files);
  const warnings: string[] = [];
  const chosen = new Map<string, SelectedFunction>();
  const queue: { key: string; at: SelectedFunction; depth: number }[] = [];

  const visit = (fileIndex: number, name: string, reason: string, depth: number) => {
    for (const [f, fn] of resolve(byName, name, fileIndex)) {
      const key = `${f}:${fn}`;
      if (chosen.has(key)) continue;
      const at = { file: f, function: fn, reason };
      chosen.set(key, at);
      queue.push({ key, at, depth });
    }
  };

  let anyTarget = false;
  files.forEach((file, fileIndex) => {
    for (const binding of file.hooks) {
      anyTarget = true;
      if (!hooks.has(binding.hook)) continue;
      if (resolve(byName, binding.function, fileIndex).length === 0) {
        warnings.push(`${binding.variable}.${binding.hook} = ${binding.function}: not defined in the given files (add the file that defines it)`);
        continue;
      }
      visit(fileIndex, binding.function, `.${binding.hook} = ${binding.function}`, 0);
    }
  });
  if (!anyTarget) {
    throw new KcrumbError(
      'no-selection',
      `no struct target_type initializer in ${files.map((f) => f.path).join(', ')}, and no --functions`,
      "name the functions to instrument: --functions 'name,prefix_*'",
    );
  }
  const registrations = indexRegistrations(files);
  for (let i = 0; i < queue.length; i++) {
    const { at, depth } = queue[i];
    if (depth >= depthLimit) continue;
    for (const callee of new Set(files[at.file].calls?.[at.function] ?? [])) {
      visit(at.file, callee, `${at.reason} -> ${callee}`, depth + 1);
    }
    for (const edge of files[at.file].deferred?.[at.function] ?? []) {
      const handlers = edge.type === 'direct' ? [{ file: at.file, handler: edge.handler! }] : edge.type === 'arm' ? registrations.handlersOf(edge.key!, at) : [];
      for (const { file, handler } of handlers) {
        const link = edge.label.endsWith('=') ? `${edge.label} ${handler}` : `${edge.label} -> ${handler}`;
        visit(file, handler, `${at.reason} -> ${link}`, depth + 1);
      }
    }
  }
  if (chosen.size === 0) {
    throw new KcrumbError('no-selection', `no ${[...hooks].join('/')} hook of a target_type points to a function defined in the given files`);
  }
  const selected = [...chosen.values()].sort((a, b) => a.file - b.file || a.function - b.function);
  return { selected, warnings };
}

interface Registration {
  file: number;
  /** Function index, or -1 at file scope. */
  function: number;
  handler: string;
}

/**
 * Who handles a queued work, timer or thread, by its member name. A registration in the arming function
 * itself wins (`INIT_WORK(&io->work, f); queue_work(wq, &io->work);`), then one in the same file, then
 * any: common names like `work` would otherwise pull in every handler of every file.
 */
function indexRegistrations(files: SelectableFile[]) {
  const byKey = new Map<string, Registration[]>();
  const add = (edge: DeferredEdge, file: number, fn: number) => {
    if (edge.type !== 'register' || !edge.key || !edge.handler) return;
    const list = byKey.get(edge.key) ?? [];
    list.push({ file, function: fn, handler: edge.handler });
    byKey.set(edge.key, list);
  };
  files.forEach((file, f) => {
    file.deferred?.forEach((edges, fn) => edges.forEach((edge) => add(edge, f, fn)));
    file.fileDeferred?.forEach((edge) => add(edge, f, -1));
  });
  return {
    handlersOf(key: string, at: { file: number; function: number }): { file: number; handler: string }[] {
      const all = byKey.get(key) ?? [];
      const sameFunction = all.filter((r) => r.file === at.file && r.function === at.function);
      const sameFile = all.filter((r) => r.file === at.file);
      return sameFunction.length > 0 ? sameFunction : sameFile.length > 0 ? sameFile : all;
    },
  };
}

type NameIndex = Map<string, [number, number][]>;

function indexByName(files: SelectableFile[]): NameIndex {
  const index: NameIndex = new Map();
  files.forEach((file, f) =>
    file.functions.forEach((fn, i) => {
      const list = index.get(fn.name) ?? [];
      list.push([f, i]);
      index.set(fn.name, list);
    }),
  );
  return index;
}

/** A call resolves to the definition in the caller's own file when there is one (static functions). */
export function resolve(index: NameIndex, name: string, fromFile: number): [number, number][] {
  const all = index.get(name) ?? [];
  const local = all.filter(([f]) => f === fromFile);
  return local.length > 0 ? local : all;
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

