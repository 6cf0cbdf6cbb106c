/**
 * Compile parity under kbuild with Debian's 6.1 headers (plus -Wdeclaration-after-statement, which older
 * and vendor kernels pass): every function of every .c file of drivers/md instrumented at every line builds
 * exactly when the original does, with exactly the original's warnings (file:line: message; columns move
 * on a line with a breadcrumb, lines never do). The other templates are built on a few targets, and
 * --loop-limit (a block with a static counter around breadcrumbs inside loops) with every template.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { assertSameBuilds, compileObjects } from '../support/kbuild.js';
import { needKernel } from '../support/kernel-env.js';
import { runCli } from '../support/run-cli.js';

function cFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? cFiles(full, root) : name.endsWith('.c') ? [relative(root, full)] : [];
  });
}

/** Builds the original and an instrumented copy of `files` of drivers/md and compares them file by file. */
async function parity(t: TestContext, args: string[], pick: (files: string[]) => string[]): Promise<void> {
  const src = needKernel(t, 'linuxSrc');
  if (!src || !needKernel(t, 'headers')) return;
  const work = mkdtempSync(join(tmpdir(), 'kcrumb-parity-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const original = join(work, 'original');
  const instrumented = join(work, 'instrumented');
  cpSync(join(src, 'drivers', 'md'), original, { recursive: true });
  cpSync(join(src, 'drivers', 'md'), instrumented, { recursive: true });
  const files = pick(cFiles(original).sort());

  const run = await runCli(['instrument', ...args, '--tag', 'kpar', ...files], instrumented);
  assert.equal(run.code, 0, run.stderr);
  t.diagnostic(run.stdout.trim().split('\n').filter((l) => l.startsWith('kcrumb: ') && /breadcrumbs/.test(l)).join('\n'));

  const [before, after] = await Promise.all([compileObjects(original, files, { jobs: 1 }), compileObjects(instrumented, files, { jobs: 1 })]);
  const built = assertSameBuilds(files, before, after);
  t.diagnostic(`${built} of ${files.length} files build, with the same warnings, instrumented and not`);
  assert.ok(built >= Math.min(files.length, 3) && built >= files.length * 0.9, `only ${built} of ${files.length} original files build`);
}

describe('compile parity with kbuild, drivers/md of linux-source-6.1', { timeout: 20 * 60_000 }, () => {
  it('every function at every line, the default printk template', (t) =>
    parity(t, ['--functions', '*', '--level', 'every-line'], (files) => files));

  it('every function at every line with --loop-limit 3 (a static counter per breadcrumb inside loops)', (t) =>
    parity(t, ['--functions', '*', '--level', 'every-line', '--loop-limit', '3'], (files) => files));

  it('the pr_crit template, every line, dm targets', (t) =>
    parity(t, ['--functions', '*', '--template', 'pr_crit'], (files) => files.filter((f) => /^dm-(zero|linear|delay|flakey|stripe)\.c$/.test(f))));

  it('the trace_printk template, every line, dm targets', (t) =>
    parity(t, ['--functions', '*', '--template', 'trace_printk'], (files) => files.filter((f) => /^dm-(zero|linear|delay|flakey|stripe)\.c$/.test(f))));

  it('the pr_crit and trace_printk templates with --loop-limit, dm targets with loops', async (t) => {
    for (const template of ['pr_crit', 'trace_printk']) {
      await parity(t, ['--functions', '*', '--template', template, '--loop-limit', '2'], (files) => files.filter((f) => /^dm-(stripe|delay|bufio|kcopyd)\.c$/.test(f)));
    }
  });
});
