// kcrumb --version and --help must not load a command's modules, and a command only its own: start-up is
// most of a small run (bench/startup.ts measures it). Checked on the modules a real process loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';

/** A loader hook that prints every module URL the process loads, one per line on stderr. */
const TRACE = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
   register('data:text/javascript,' + encodeURIComponent('export async function load(url, context, next) { process.stderr.write("loaded " + url + "\\\\n"); return next(url, context); }'));`,
)}`;

function loadedModules(...args: string[]): string[] {
  return loadedModulesIn(REPO, args);
}

function loadedModulesIn(cwd: string, args: string[], trace = true): string[] {
  // tsx resolves from the process's directory: start in the repository, run the command in `cwd`
  const script = `process.chdir(${JSON.stringify(cwd)}); const { main } = await import(${JSON.stringify(`${REPO}/src/cli/main.ts`)}); process.exitCode = await main(${JSON.stringify(args)});`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', ...(trace ? ['--import', TRACE] : []), '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return [...run.stderr.matchAll(/^loaded (.*)$/gm)].map((m) => m[1].replace(`file://${REPO}/`, ''));
}

describe('lazy command loading', () => {
  it('--version and --help load no command module and no parser', () => {
    for (const flag of ['--version', '--help']) {
      const loaded = loadedModules(flag);
      assert.ok(loaded.includes('src/cli/main.ts'), loaded.join('\n'));
      assert.deepEqual(loaded.filter((url) => /src\/cli\/commands\/|tree-sitter|src\/locate\//.test(url)), [], flag);
    }
  });

  it('locate-freeze --help loads its own module, not instrument nor tree-sitter', () => {
    const loaded = loadedModules('locate-freeze', '--help');
    assert.ok(loaded.includes('src/cli/commands/locate-freeze.ts'), loaded.join('\n'));
    assert.deepEqual(loaded.filter((url) => /commands\/instrument|tree-sitter/.test(url)), []);
  });

  it('locate-freeze of a captured log loads no parser, and the --json/--lcov/--annotate formatters only when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-lazy-'));
    try {
      for (const name of ['dm-remap-target.c', 'dm-remap-metadata.c', 'dm-remap.h']) copyFileSync(join(REPO, 'examples/dm-remap', name), join(dir, name));
      loadedModulesIn(dir, ['instrument', '--level', 'every-line', '--tag', 'kdem', 'dm-remap-target.c', 'dm-remap-metadata.c'], false);
      const log = join(REPO, 'examples/dm-remap/captured/remove-one-remap.serial.log');
      const formatters = /tree-sitter|commands\/instrument|src\/instrument\/|locate\/(?:answer-json|lcov|annotate)\.ts/;
      assert.deepEqual(loadedModulesIn(dir, ['locate-freeze', log]).filter((url) => formatters.test(url)), []);
      assert.deepEqual(loadedModulesIn(dir, ['locate-freeze', '--json', log]).filter((url) => formatters.test(url)), ['src/locate/answer-json.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
