/**
 * A bundled example (examples/dm-remap unless told) as the kernel tests use it: a fresh copy per
 * variant, an optional transform of the copy (kcrumb instrument, for instance) before it is built, and
 * the lines its source marks as the places that hang, so a test knows the right answer without asking
 * kcrumb.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { buildModule, EXAMPLE_DIR } from './qemu.js';

export interface PreparedModule {
  /** The copy of the example, built: holds its one .ko. */
  dir: string;
  ko: string;
}

/** Files a build leaves in an example's folder when someone ran make there: not copied. */
const BUILD_OUTPUT = /(\.o|\.ko|\.mod|\.mod\.c|\.cmd|Module\.symvers|modules\.order)$/;

/**
 * Copies `example` (default examples/dm-remap) to `<workDir>/<name>/<its folder name>`, runs
 * `transform(dir)` on the copy when given, and builds it with -Werror and `makeArgs` (build log in
 * `<workDir>/<name>/module-build.log`).
 */
export async function prepareModule(
  workDir: string,
  name: string,
  transform?: (dir: string) => Promise<void> | void,
  makeArgs?: string[],
  example: string = EXAMPLE_DIR,
): Promise<PreparedModule> {
  const base = join(workDir, name);
  const dir = join(base, basename(example));
  mkdirSync(base, { recursive: true });
  cpSync(example, dir, { recursive: true, filter: (path) => !BUILD_OUTPUT.test(path) });
  if (transform) await transform(dir);
  const ko = await buildModule(dir, base, { makeArgs });
  return { dir, ko };
}

/**
 * A prepareModule transform: `kcrumb instrument ARGS <every .c file of the copy>`, which must succeed;
 * the last lines of its report go to `t` when given, the whole report to `onReport`.
 */
export function instrumentCopy(args: string[], t?: TestContext, onReport?: (stdout: string) => void): (dir: string) => Promise<void> {
  return async (dir) => {
    const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort();
    const run = await runCli(['instrument', ...args, ...sources], dir);
    assert.equal(run.code, 0, run.stderr);
    t?.diagnostic(run.stdout.split('\n').slice(-3).join('\n'));
    onReport?.(run.stdout);
  };
}

export interface Marker {
  file: string;
  /** 1-based. */
  line: number;
  text: string;
}

/**
 * Lines of the example's .c files carrying `/* kcrumb-test: <what> *\/`, e.g. what = 'hangs here'
 * (the teardown double lock) or 'map hangs here' (the map-hang scenario).
 */
export function findMarkers(dir: string, what: string): Marker[] {
  const markers: Marker[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.c')).sort()) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.includes(`/* kcrumb-test: ${what} */`)) markers.push({ file, line: i + 1, text: text.trim() });
      });
  }
  return markers;
}

/** What locate-freeze --json says of threads, enough to check where one froze. */
export interface LocatedThreads {
  last: { file: string; line: number };
  threads: { key: string; last: { file: string; line: number } }[];
}

/** The map-hang answer: the trail of `thread` ends at the marker, and the answer is that thread's line. */
export function assertFrozenAt(answer: LocatedThreads, thread: string, marker: Marker): void {
  const found = answer.threads.find((th) => th.key === thread);
  assert.ok(found, `a trail for ${thread} among ${answer.threads.map((th) => th.key).join(', ')}`);
  assert.equal(`${found.last.file}:${found.last.line}`, `${marker.file}:${marker.line}`, `where ${thread} froze`);
  assert.equal(`${answer.last.file}:${answer.last.line}`, `${marker.file}:${marker.line}`, 'the answer is the frozen thread');
}
