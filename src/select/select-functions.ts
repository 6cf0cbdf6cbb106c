import { KcrumbError } from '../errors.js';
import { KERNEL_HELPER, OPS_STRUCTS, opsStruct, REGISTRATION_CALLS, registrationCall } from '../vocabulary/hooks.js';
import type { DeferredEdge } from './deferred-work.js';
import type { HookBinding } from './hooks.js';

/** What selection needs to know about one parsed file. */
export interface SelectableFile {
  path: string;
  functions: { name: string }[];
  /** Every `.field = function` of the file's struct initializers (see hooks.ts). */
  hooks: HookBinding[];
  /** Tags of the structs the file declares: initializers of these are the driver's own ops. */
  structs?: string[];
  /** Names each function calls, by function index: needed only to select from hooks. */
  calls?: string[][];
  /** Fields each function calls through (`ops->flush(...)` -> flush), by function index. */
  fieldCalls?: string[][];
  /** Deferred-work edges each function has, by function index (see deferred-work.ts). */
  deferred?: DeferredEdge[][];
  /** Registrations at file scope (`static DECLARE_WORK(name, fn);`). */
  fileDeferred?: DeferredEdge[];
}

export interface SelectedFunction {
  file: number;
  function: number;
  /**
   * Why: `struct blk_mq_ops null_mq_ops: .queue_rq = null_queue_rq -> null_handle_cmd`,
   * `e1000_request_irq calls request_irq(e1000_intr)` or `--functions remap_*`.
   */
  reason: string;
  /** The selected function that reached it (by a call, a field call or deferred work); none for a hook. */
  via?: { file: number; function: number };
}

export interface SelectOptions {
  /** Names and globs; when given, replaces the default selection (see instrument/instrument.ts). */
  functions?: string[];
  /** Hooks to start from: `struct.field`, `struct` (its hot fields), a field, a registration call (default: the whole table). */
  hooks?: string[];
  /** How many calls deep to follow from a hook (default: no limit). */
  depth?: number;
}

export interface Selection {
  selected: SelectedFunction[];
  warnings: string[];
}

/**
 * The default selection: every hook of the hook table found in the files (ops struct fields and
 * registration calls, see vocabulary/hooks.ts), and what they call, queue, arm and call back, transitively.
 * Hooks of ops structs go first, so a handler reached from one says so rather than where it was registered.
 */
export function selectFunctions(files: SelectableFile[], options: SelectOptions): Selection {
  const wanted = hookFilter(options.hooks);
  const depthLimit = options.depth ?? Infinity;
  const byName = indexByName(files);
  const warnings: string[] = [];
  const chosen = new Map<string, SelectedFunction>();
  const queue: { at: SelectedFunction; depth: number }[] = [];

  const visit = (fileIndex: number, name: string, reason: string, depth: number, via?: SelectedFunction) => {
    for (const [f, fn] of resolve(byName, name, fileIndex)) {
      const key = `${f}:${fn}`;
      if (chosen.has(key)) continue;
      const at: SelectedFunction = { file: f, function: fn, reason, ...(via && { via: { file: via.file, function: via.function } }) };
      chosen.set(key, at);
      queue.push({ at, depth });
    }
  };
  const registrations = indexRegistrations(files);
  const ownOps = indexOwnOps(files);
  let next = 0;
  const follow = () => {
    for (; next < queue.length; next++) {
      const { at, depth } = queue[next];
      if (depth >= depthLimit) continue;
      const file = files[at.file];
      for (const callee of new Set(file.calls?.[at.function] ?? [])) visit(at.file, callee, `${at.reason} -> ${callee}`, depth + 1, at);
      for (const field of new Set(file.fieldCalls?.[at.function] ?? [])) {
        for (const { file: f, binding } of ownOps.get(field) ?? []) {
          visit(f, binding.function, `${at.reason} -> ->${field} = ${binding.function} (struct ${binding.struct} ${binding.variable})`, depth + 1, at);
        }
      }
      for (const edge of file.deferred?.[at.function] ?? []) {
        const handlers = edge.type === 'direct' ? [{ file: at.file, handler: edge.handler! }] : edge.type === 'arm' ? registrations.handlersOf(edge.key!, at) : [];
        for (const { file: f, handler } of handlers) {
          visit(f, handler, `${at.reason} -> ${edgeLink(edge, handler)}`, depth + 1, at);
        }
      }
    }
  };

  let hooksFound = 0;
  files.forEach((file, fileIndex) => {
    for (const binding of file.hooks) {
      const known = opsStruct(binding.struct) !== undefined;
      if (known) hooksFound++;
      if (!wanted.field(binding.struct, binding.hook)) continue;
      if (resolve(byName, binding.function, fileIndex).length === 0) {
        if (known && !KERNEL_HELPER.test(binding.function)) warnings.push(`${binding.variable}.${binding.hook} = ${binding.function}: not defined in the given files (add the file that defines it)`);
        continue;
      }
      visit(fileIndex, binding.function, `struct ${binding.struct} ${binding.variable}: .${binding.hook} = ${binding.function}`, 0);
    }
  });
  follow();
  files.forEach((file, fileIndex) => {
    const registered = (edge: DeferredEdge, where: string) => {
      if (!edge.hook || !edge.handler) return;
      hooksFound++;
      if (!wanted.call(edge.hook)) return;
      visit(fileIndex, edge.handler, `${where}${edgeLink(edge, edge.handler)}`, 0);
    };
    file.deferred?.forEach((edges, fn) => edges.forEach((edge) => registered(edge, `${file.functions[fn].name} calls `)));
    file.fileDeferred?.forEach((edge) => registered(edge, ''));
  });
  follow();

  if (chosen.size === 0) throw nothingSelected(files, options.hooks, hooksFound);
  const selected = [...chosen.values()].sort((a, b) => a.file - b.file || a.function - b.function);
  return { selected, warnings };
}

/** Why nothing was selected: no hook at all (with the structs looked for), or none that --hooks or the hot fields take. */
function nothingSelected(files: SelectableFile[], hooks: string[] | undefined, hooksFound: number): KcrumbError {
  const where = files.length > 3 ? `${files.length} files` : files.map((f) => f.path).join(', ');
  const hint = "name the functions to instrument: --functions 'name,prefix_*' (kcrumb instrument --hooks list shows the table)";
  if (hooksFound === 0) {
    const calls = REGISTRATION_CALLS.filter((r) => r.call === 'request_irq' || r.call === 'netif_napi_add' || r.call === 'timer_setup' || r.call === 'INIT_WORK' || r.call === 'kthread_run');
    const looked = `no initializer of struct ${OPS_STRUCTS.map((o) => o.struct).join(', ')}, and no call to ${calls.map((r) => r.call).join(', ')} or the like`;
    return new KcrumbError('no-selection', `no hook in ${where}: ${looked}`, hint);
  }
  const found = files.flatMap((f) => f.hooks.filter((b) => opsStruct(b.struct) && !/^[A-Z0-9_]+$/.test(b.function)).map((b) => `${b.struct}.${b.hook} = ${b.function}`));
  const shown = found.slice(0, 4).join(', ') + (found.length > 4 ? `, ... (${found.length})` : '');
  const asked = hooks ? `--hooks ${hooks.join(',')} matches` : 'the hot-path fields match';
  return new KcrumbError('no-selection', `${asked} no hook of ${where} that points to a function defined there${found.length ? ` (found: ${shown})` : ''}`, hint.replace('name the functions', `--hooks ${found.length ? found[0].split(' ')[0] : 'struct.field'} starts from a field not on the hot path, or name the functions`));
}

/** How a reason shows an edge: `.bi_end_io = fn`, `request_irq(fn)`, `queue_work(work) -> fn`. */
function edgeLink(edge: DeferredEdge, handler: string): string {
  if (edge.label.endsWith('=')) return `${edge.label} ${handler}`;
  if (edge.type === 'direct' && edge.hook && edge.label.endsWith(`(${handler})`)) return edge.label;
  return `${edge.label} -> ${handler}`;
}

/**
 * What --hooks asks for. Without it: the hot fields of every ops struct of the table, every
 * registration call. `struct.field` also works for a driver's own struct; a bare name is a struct of the
 * table, a registration call or a field (of any struct of the table, including the fields taken only
 * when asked, like probe).
 */
export function hookFilter(hooks: string[] | undefined): { field(struct: string, field: string): boolean; call(name: string): boolean } {
  if (!hooks) {
    return { field: (struct, field) => opsStruct(struct)?.fields.includes(field) ?? false, call: () => true };
  }
  const fields = new Set<string>();
  const calls = new Set<string>();
  for (const hook of hooks) {
    const [struct, field] = hook.includes('.') ? hook.split('.', 2) : [hook, undefined];
    const ops = opsStruct(struct);
    if (field !== undefined) fields.add(`${struct}.${field}`);
    else if (ops) ops.fields.forEach((f) => fields.add(`${struct}.${f}`));
    else if (registrationCall(hook) || /^(?:DECLARE|DEFINE)_/.test(hook)) calls.add(hook);
    else if (OPS_STRUCTS.some((o) => o.fields.includes(hook) || o.onRequest?.includes(hook))) fields.add(`*.${hook}`);
    else throw new KcrumbError('usage', `--hooks ${hook}: no ops struct, field or registration call of that name`, 'kcrumb instrument --hooks list prints them');
  }
  return {
    field: (struct, field) => fields.has(`${struct}.${field}`) || (opsStruct(struct) !== undefined && fields.has(`*.${field}`)),
    call: (name) => calls.has(name),
  };
}

/** The driver's own ops: bindings of structs the given files declare and the hook table does not know, by field. */
function indexOwnOps(files: SelectableFile[]): Map<string, { file: number; binding: HookBinding }[]> {
  const declared = new Set(files.flatMap((f) => f.structs ?? []));
  const byField = new Map<string, { file: number; binding: HookBinding }[]>();
  files.forEach((file, f) => {
    for (const binding of file.hooks) {
      if (!declared.has(binding.struct) || opsStruct(binding.struct)) continue;
      byField.set(binding.hook, [...(byField.get(binding.hook) ?? []), { file: f, binding }]);
    }
  });
  return byField;
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

