/**
 * Everything a hunt's guest gets: the built modules and the kernel modules they need, the programs the
 * script calls (from the host, with their libraries), the script, --add paths, and /init. Read-only on
 * the host; the result is a list of archive entries plus what could not be found.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { KcrumbError } from '../../errors.js';
import type { CpioEntry } from '../../hunt/cpio.js';
import { GUEST_PATHS, guestInit } from '../../hunt/guest-init.js';
import { loadOrder, moduleName, parseDepends, parseModulesDep } from '../../hunt/module-deps.js';
import { interpreter, scriptCommands } from '../../hunt/script-commands.js';
import { busybox, modinfoField, moduleBytes, which, withLibraries } from './host.js';

export interface GuestPlan {
  entries: CpioEntry[];
  /** Kernel modules loaded before the built ones, in order. */
  dependencies: string[];
  /** Programs packed from the host, by guest path. */
  programs: string[];
  /** Words of the script that name no program busybox or the host has: the guest will say "not found". */
  notFound: string[];
}

export interface GuestInput {
  builtModules: string[];
  /** lib/modules/<release> of the guest kernel. */
  modules: string;
  release: string;
  script: string;
  add: string[];
}

export function planGuest(input: GuestInput): GuestPlan {
  const entries: CpioEntry[] = [];
  const scriptText = readFileSync(input.script, 'latin1');
  const kernelModules = moduleClosure(input, modprobed(scriptText));
  // Kernel modules keep their place under lib/modules/<release>, with a modules.dep, so the script's own
  // `modprobe brd` works; /init loads what the built module needs by path.
  const treeDir = `lib/modules/${input.release}`;
  for (const m of kernelModules.all) entries.push({ name: `${treeDir}/${m.path}`, type: 'file', data: moduleBytes(join(input.modules, m.path + m.compression)) });
  entries.push({ name: `${treeDir}/modules.dep`, type: 'file', data: Buffer.from(kernelModules.all.map((m) => `${m.path}: ${m.depends.join(' ')}`.trimEnd() + '\n').join('')) });
  const load = kernelModules.forBuilt.map((m) => `${treeDir}/${m.path}`);
  for (const path of input.builtModules) {
    const name = `${GUEST_PATHS.modules}/${basename(path)}`;
    entries.push({ name, type: 'file', data: readFileSync(path) });
    load.push(name);
  }

  entries.push({ name: GUEST_PATHS.script, type: 'file', data: readFileSync(input.script), mode: 0o755 });
  const applets = new Set(busybox()?.applets ?? []);
  const programs: string[] = [];
  const notFound: string[] = [];
  const shell = interpreter(scriptText);
  const wanted = [...(shell ? [shell] : []), ...scriptCommands(scriptText)];
  for (const word of wanted) {
    if (applets.has(basename(word))) continue; // busybox's applet: a symlink to it is packed already
    const host = which(word);
    if (!host) {
      notFound.push(word);
      continue;
    }
    const guest = host.replace(/^\/+/, '');
    entries.push(...withLibraries(realpathSync(host), guest));
    programs.push('/' + guest);
  }
  for (const path of input.add) entries.push(...addedEntries(path));
  entries.push({ name: 'init', type: 'file', data: Buffer.from(guestInit({ modules: load, script: GUEST_PATHS.script })), mode: 0o755 });
  return { entries, dependencies: kernelModules.forBuilt.map((m) => moduleName(m.path)), programs, notFound };
}

/** Modules the script loads with modprobe (by name: `modprobe brd rd_nr=2`). */
function modprobed(script: string): string[] {
  return [...script.matchAll(/\bmodprobe\s+(?:-\S+\s+)*([\w-]+)/g)].map((m) => moduleName(m[1]));
}

interface KernelModule {
  /** Relative to lib/modules/<release>, without a compression suffix. */
  path: string;
  compression: string;
  depends: string[];
}

/**
 * The kernel's modules a hunt packs: what the built modules need (in load order: `forBuilt`), and what
 * the script modprobes with what those need (`all` holds both).
 */
function moduleClosure(input: GuestInput, scriptModules: string[]): { forBuilt: KernelModule[]; all: KernelModule[] } {
  const files = moduleIndex(input.modules);
  const depFile = join(input.modules, 'modules.dep');
  const fromDep = existsSync(depFile) ? parseModulesDep(readFileSync(depFile, 'utf8')) : undefined;
  const built = new Map(input.builtModules.map((path) => [moduleName(path), path]));
  const dependsOf = (name: string): string[] | undefined => {
    const own = built.get(name);
    if (own) return parseDepends(modinfoField(own, 'depends'));
    if (fromDep?.has(name)) return fromDep.get(name)!.depends;
    const path = files.get(name);
    return path ? parseDepends(modinfoField(path, 'depends')) : undefined;
  };
  const forBuilt = loadOrder([...built.keys()], dependsOf);
  const forScript = loadOrder(scriptModules, dependsOf);
  const builtIn = existsSync(join(input.modules, 'modules.builtin')) ? new Set(readFileSync(join(input.modules, 'modules.builtin'), 'utf8').split('\n').map(moduleName)) : new Set();
  const missing = [...new Set([...forBuilt.missing, ...forScript.missing])].filter((name) => !built.has(name) && !builtIn.has(name));
  if (missing.length > 0) {
    throw new KcrumbError('input', `${missing.join(', ')}: no such module in ${input.modules} (built into the kernel, or another kernel's modules?)`);
  }
  const record = (name: string): KernelModule => {
    const host = files.get(name)!;
    const rel = relative(input.modules, host);
    const compression = /\.ko(\.\w+)$/.exec(rel)?.[1] ?? '';
    return { path: rel.slice(0, rel.length - compression.length), compression, depends: [] };
  };
  const all = new Map<string, KernelModule>();
  for (const name of [...forBuilt.order, ...forScript.order, ...scriptModules.filter((n) => !builtIn.has(n))]) {
    if (built.has(name) || all.has(name) || !files.has(name)) continue;
    all.set(name, record(name));
  }
  for (const [name, m] of all) m.depends = (dependsOf(name) ?? []).filter((d) => all.has(d)).map((d) => all.get(d)!.path);
  return { forBuilt: forBuilt.order.filter((n) => all.has(n)).map((n) => all.get(n)!), all: [...all.values()] };
}

/** Every module file under `modules`/kernel (and updates/, extra/) by name. */
function moduleIndex(modules: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(entry.name)) index.set(moduleName(entry.name), path);
    }
  };
  for (const sub of ['kernel', 'updates', 'extra']) if (existsSync(join(modules, sub))) walk(join(modules, sub));
  return index;
}

/** --add PATH: at the same path in the guest; a folder with all it holds; an executable with its libraries. */
function addedEntries(path: string): CpioEntry[] {
  if (!existsSync(path)) throw new KcrumbError('input', `--add ${path}: no such file or folder`);
  const root = realpathSync(path);
  const out: CpioEntry[] = [];
  const add = (host: string) => {
    const stat = statSync(host);
    const guest = host.replace(/^\/+/, '');
    if (stat.isDirectory()) {
      out.push({ name: guest, type: 'dir', mode: stat.mode & 0o7777 });
      for (const name of readdirSync(host)) add(join(host, name));
    } else if (stat.isFile()) {
      if (stat.mode & 0o111) out.push(...withLibraries(host, guest));
      else out.push({ name: guest, type: 'file', data: readFileSync(host), mode: stat.mode & 0o7777 });
    }
  };
  add(root);
  if (out.length === 0) throw new KcrumbError('input', `--add ${relative(process.cwd(), path) || path}: not a regular file or folder`);
  return out;
}
