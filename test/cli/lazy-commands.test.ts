// kcrumb --version and --help must not load a command's modules, and a command only its own: start-up is
// most of a small run (bench/startup.ts measures it). Checked on the modules a real process loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';

/** A loader hook that prints every module URL the process loads, one per line on stderr. */
const TRACE = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
   register('data:text/javascript,' + encodeURIComponent('export async function load(url, context, next) { process.stderr.write("loaded " + url + "\\\\n"); return next(url, context); }'));`,
)}`;

function loadedModules(...args: string[]): string[] {
  const script = `const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(${JSON.stringify(args)});`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', TRACE, '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
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
});
