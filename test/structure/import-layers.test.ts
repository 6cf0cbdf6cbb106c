/**
 * The structure drawn from src/'s import statements: every arrow points down the layers below, so no
 * stage folder reaches back into one after it (nor into src/cli/, the only place with fs and terminal),
 * and commands only wire options: no file of src/cli/commands/ imports another. Type-only imports count:
 * a type shared upwards is still an arrow back up.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';

/** Lowest first. A folder may import from its own folder and from folders of lower layers only. */
const LAYERS: readonly (readonly string[])[] = [
  ['shared'], // src/*.ts: what a breadcrumb looks like, errors, version, shell quoting
  ['vocabulary'], // the kernel's locks, waits and hooks
  ['parse', 'log'], // C text to syntax trees; log lines to fields
  ['manifest'], // what an instrument run recorded
  ['reports'], // the kernel's own reports in a log
  ['select'], // which functions matter
  ['strip'], // removing breadcrumbs
  ['instrument'], // inserting them (and checking with strip)
  ['locate'], // a log and manifests to the answer
  ['zoom', 'watch', 'doctor'], // built on the stages above
  ['hunt'],
  ['cli'], // options, files, terminal
];
const LAYER = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));

const SRC = join(REPO, 'src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** `cli` for src/cli/**, `shared` for a file directly in src/, else the stage folder. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? 'shared' : parts[0];
}

interface Arrow {
  from: string;
  to: string;
}

/** Every import of one src/ file into another src/ file (packages and node: builtins left out). */
function arrows(): Arrow[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)]
      .map((m) => m[1] ?? m[2] ?? m[3])
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))) })),
  );
}

/** A cycle among folders, as a list of folders, or undefined. */
function folderCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

describe('the import structure of src/', () => {
  const all = arrows();
  const between = all.filter((a) => folderOf(join(SRC, a.from)) !== folderOf(join(SRC, a.to)));

  it('is read from the import statements (static, re-exports, dynamic)', () => {
    const edge = (from: string, to: string) => all.some((a) => a.from === from && a.to === to);
    assert.ok(edge('locate/locate.ts', 'reports/frame.ts'), 'a static import');
    assert.ok(edge('cli/run-locate-freeze.ts', 'locate/lcov.ts'), 'a dynamic import()');
    assert.ok(between.length > 50, `only ${between.length} arrows between folders`);
  });

  it('names a layer for every folder', () => {
    const unknown = [...new Set(sourceFiles(SRC).map(folderOf))].filter((f) => !LAYER.has(f));
    assert.deepEqual(unknown, [], 'add the new folder to LAYERS');
  });

  it('has no arrow running back up the layers, nor between folders of one layer', () => {
    const upwards = between
      .filter((a) => LAYER.get(folderOf(join(SRC, a.to)))! >= LAYER.get(folderOf(join(SRC, a.from)))!)
      .map((a) => `${a.from} -> ${a.to}`);
    assert.deepEqual(upwards, []);
  });

  it('has no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const a of between) {
      const from = folderOf(join(SRC, a.from));
      edges.set(from, (edges.get(from) ?? new Set()).add(folderOf(join(SRC, a.to))));
    }
    assert.equal(folderCycle(edges)?.join(' -> '), undefined);
  });

  it('keeps fs and terminal at the edge: no core file imports src/cli/', () => {
    assert.deepEqual(
      between.filter((a) => a.to.startsWith('cli/')).map((a) => `${a.from} -> ${a.to}`),
      [],
    );
  });

  it('has no command importing another command', () => {
    const commands = all.filter((a) => a.from.startsWith('cli/commands/') && a.to.startsWith('cli/commands/'));
    assert.deepEqual(commands.map((a) => `${a.from} -> ${a.to}`), []);
  });
});
