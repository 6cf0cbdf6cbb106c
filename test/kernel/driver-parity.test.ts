/**
 * Compile parity of the default selection beyond device-mapper: each driver of driver-selection.test.ts
 * instrumented at every line with the default selection (its files given together), then every file that
 * got breadcrumbs built under kbuild with Debian's 6.1 headers, instrumented and not: same result, same
 * warnings (file:line: message).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { assertSameBuilds, compileObjects } from '../support/kbuild.js';
import { needKernel, needSource } from '../support/kernel-env.js';
import { runCli } from '../support/run-cli.js';

const DRIVERS = [
  'drivers/block/null_blk',
  'drivers/block/virtio_blk.c',
  'drivers/block/loop.c',
  'drivers/block/brd.c',
  'drivers/block/zram',
  'drivers/net/ethernet/intel/e1000',
  'drivers/net/ethernet/intel/e1000e',
  'fs/ext2',
  'drivers/char/mem.c',
  'drivers/char/random.c',
  'drivers/char/lp.c',
  'drivers/char/ppdev.c',
];

function cFilesOf(root: string, spec: string): string[] {
  return statSync(join(root, spec)).isDirectory() ? readdirSync(join(root, spec)).filter((n) => n.endsWith('.c')).map((n) => join(spec, n)) : [spec];
}

it('the default selection of block, network, file system and character drivers builds with the original warnings', { timeout: 30 * 60_000 }, async (t) => {
  const src = needSource(t, ['drivers/block', 'fs/ext2', 'drivers/char', 'drivers/net/ethernet/intel/e1000', 'drivers/net/ethernet/intel/e1000e']);
  if (!src || !needKernel(t, 'headers')) return;
  const work = mkdtempSync(join(tmpdir(), 'kcrumb-driver-parity-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const original = join(work, 'original');
  const instrumented = join(work, 'instrumented');
  for (const tree of [original, instrumented]) {
    for (const spec of DRIVERS) {
      const from = join(src, spec);
      const folder = statSync(from).isDirectory() ? spec : dirname(spec);
      // A folder's headers come along (loop.h, null_blk.h, e1000.h...).
      mkdirSync(join(tree, folder), { recursive: true });
      for (const name of readdirSync(join(src, folder))) {
        if (/\.[ch]$/.test(name) && statSync(join(src, folder, name)).isFile()) cpSync(join(src, folder, name), join(tree, folder, name));
      }
    }
  }
  const changed: string[] = [];
  for (const [index, spec] of DRIVERS.entries()) {
    const files = cFilesOf(instrumented, spec);
    // One run per driver, each with its own tag (a tag names one run and its manifest).
    const run = await runCli(['instrument', '--json', '--tag', `kd${index.toString(36).padStart(2, '0')}`, ...files], instrumented);
    assert.equal(run.code, 0, `${spec}: ${run.stderr}`);
    const summary = JSON.parse(run.stdout) as { crumbs: number; files: { path: string; crumbs: number }[] };
    t.diagnostic(`${spec}: ${summary.crumbs} breadcrumbs in ${summary.files.length} file(s)`);
    changed.push(...summary.files.filter((f) => f.crumbs > 0).map((f) => f.path));
  }
  for (const file of changed) assert.notEqual(readFileSync(join(instrumented, file), 'latin1'), readFileSync(join(original, file), 'latin1'), file);

  const before = await compileObjects(original, changed, { jobs: 2 });
  const after = await compileObjects(instrumented, changed, { jobs: 2 });
  const built = assertSameBuilds(changed, before, after);
  const warnings = changed.reduce((n, file) => n + (before.get(file)?.warnings.length ?? 0), 0);
  t.diagnostic(`${built} of ${changed.length} instrumented files build, ${warnings} warnings before and the same after`);
  // A few files do not build as lone objects against the distribution headers (as in compile-parity.test.ts), instrumented or not.
  assert.ok(built >= changed.length * 0.8, `only ${built} of ${changed.length} original files build`);
});
