/**
 * locate-freeze cases as folders, like the instrument and CLI fixtures: test/fixtures/locate/<case>/ holds
 *   log           the kernel log, as a console or a dmesg printed it
 *   case.json     optional: { "sources": ["dm-locks.c"], "instrument": [...], "locate": [...], "edited": [...] }
 *                   sources: files of test/locate/fixtures/ placed at drivers/md/<name> (default: none)
 *                   instrument: the options of `kcrumb instrument --tag kq7x` over every source (default:
 *                   every function at every-line); null: nothing is instrumented, there is no manifest
 *                   locate: more options of `kcrumb locate-freeze` (--trail 3)
 *                   edited: files of the tree a user changed after instrumenting (a line added on top)
 *   expected.txt  what `kcrumb locate-freeze log` prints: stdout, then stderr and the exit code
 *   expected.json what `kcrumb locate-freeze --json log` prints on stdout
 *   checks.json   optional: facts the case is about, checked on top of the expected files:
 *                   { "json": { "root.reason": "abba" }, "textHas": ["..."], "textLacks": ["freeze"] }
 *   gap           optional: a known gap (what kcrumb should do); its checks.json says it, and must still fail
 * The manifest is made as a user makes it: `kcrumb instrument` on a copy of the sources in a temp folder,
 * so the ids in `log` are the ones instrument gives. `<cwd>` in the expected files stands for that folder.
 * A missing expected file is written on the first run; OVERWRITE=1 rewrites mismatches.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { runCli, type CliRun } from '../support/run-cli.js';

const ROOT = join(REPO, 'test', 'fixtures', 'locate');
const SOURCES = join(REPO, 'test', 'locate', 'fixtures');
const OVERWRITE = process.env.OVERWRITE === '1';
const EVERY_LINE = ['--level', 'every-line'];

interface CaseOptions {
  sources?: string[];
  instrument?: string[] | null;
  locate?: string[];
  edited?: string[];
}

interface Checks {
  json?: Record<string, unknown>;
  textHas?: string[];
  textLacks?: string[];
}

/** A temp kernel tree with the case's sources instrumented by `kcrumb instrument`, and its log. */
async function kernelTree(dir: string, options: CaseOptions): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), 'kcrumb-locate-case-'));
  const files = (options.sources ?? []).map((name) => join('drivers', 'md', name));
  mkdirSync(join(cwd, 'drivers', 'md'), { recursive: true });
  for (const name of options.sources ?? []) cpSync(join(SOURCES, name), join(cwd, 'drivers', 'md', name));
  if (options.instrument !== null) {
    const run = await runCli(['instrument', '--tag', 'kq7x', ...(options.instrument ?? EVERY_LINE), ...files], cwd);
    assert.equal(run.code, 0, `kcrumb instrument failed:\n${run.stderr}`);
  }
  for (const path of options.edited ?? []) writeFileSync(join(cwd, path), `// edited\n${readFileSync(join(cwd, path), 'latin1')}`, 'latin1');
  cpSync(join(dir, 'log'), join(cwd, 'log'));
  return cwd;
}

/** A run as the expected text holds it: stdout, then stderr and the exit code, machine paths masked. */
function shown(run: CliRun, cwd: string): string {
  const stderr = run.stderr ? `--- stderr\n${run.stderr}` : '';
  return `${run.stdout}${stderr}--- exit ${run.code}\n`.replaceAll(cwd, '<cwd>');
}

/** The value at a dotted path of a JSON document ("root.reason", "reports.0.kind"). */
function at(document: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | null)?.[key], document);
}

function checkFacts(checks: Checks, text: string, json: unknown): void {
  for (const [path, value] of Object.entries(checks.json ?? {})) assert.deepEqual(at(json, path), value, `${path} in the JSON`);
  for (const part of checks.textHas ?? []) assert.ok(text.includes(part), `the text lacks ${JSON.stringify(part)}`);
  for (const part of checks.textLacks ?? []) assert.ok(!text.includes(part), `the text says ${JSON.stringify(part)}`);
}

/** Compares `actual` with the folder's expected file, writing it when missing or OVERWRITE=1. */
function expectFile(dir: string, name: string, actual: string): void {
  const path = join(dir, name);
  assert.doesNotMatch(actual, /\/(work|tmp|root)\//, `${name} would hold a machine path`);
  if (!existsSync(path) && process.env.CI) assert.fail(`${path} is missing: run the tests locally and commit it`);
  if (!existsSync(path) || OVERWRITE) writeFileSync(path, actual, 'latin1');
  assert.equal(actual, readFileSync(path, 'latin1'), `${name} differs (OVERWRITE=1 to accept)`);
}

const readJson = <T>(path: string, fallback: T): T => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : fallback);

describe('locate-freeze cases', () => {
  for (const name of readdirSync(ROOT).filter((n) => !n.startsWith('.')).sort()) {
    const dir = join(ROOT, name);
    const options = readJson<CaseOptions>(join(dir, 'case.json'), {});
    const checks = readJson<Checks>(join(dir, 'checks.json'), {});
    const gap = existsSync(join(dir, 'gap')) ? readFileSync(join(dir, 'gap'), 'utf8').trim() : undefined;
    it(gap ? `${name} (known gap: ${gap})` : name, async () => {
      const cwd = await kernelTree(dir, options);
      const args = ['locate-freeze', ...(options.locate ?? []), 'log'];
      const text = await runCli(args, cwd);
      const json = await runCli([...args.slice(0, -1), '--json', 'log'], cwd);
      assert.equal(json.code, text.code, '--json exits as the text run does');
      const document = JSON.parse(json.stdout) as unknown;
      const textOut = shown(text, cwd);
      if (gap) {
        const holds = (() => {
          try {
            checkFacts(checks, textOut, document);
            return true;
          } catch {
            return false;
          }
        })();
        assert.ok(!holds, `known gap ${name} now passes: delete its gap file and let the run write its expected files`);
        return;
      }
      expectFile(dir, 'expected.txt', textOut);
      expectFile(dir, 'expected.json', `${JSON.stringify(document, null, 2)}\n`.replaceAll(cwd, '<cwd>'));
      checkFacts(checks, textOut, document);
    });
  }
});
