/**
 * test/support/kbuild.ts on a few of Debian's drivers/md files (the whole folder takes about 40 s; the
 * instrumented-versus-original comparison builds it all):
 * - a clean file builds with no warning, in a subfolder too;
 * - raid1-10.c (included by raid1.c and raid10.c, not built alone) fails, with its warnings and errors
 *   given by file:line without folder or column;
 * - a warning from -Wdeclaration-after-statement (added through KCFLAGS) is reported for the file it is in.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileObjects, normaliseDiagnostic } from '../support/kbuild.js';
import { needKernel } from '../support/kernel-env.js';

describe('compileObjects', () => {
  it('normalises a diagnostic line', () => {
    assert.equal(
      normaliseDiagnostic('/tmp/x/md/dm-zero.c:42:7: warning: unused variable [-Wunused-variable]', '/tmp/x/md'),
      'dm-zero.c:42: warning: unused variable [-Wunused-variable]',
    );
    assert.equal(
      normaliseDiagnostic('/home/user/.cache/kcrumb/6.1.192-2/root/usr/src/linux-headers-6.1.0-56-common/include/linux/bio.h:3:1: warning: x', '/tmp/x'),
      'include/linux/bio.h:3: warning: x',
    );
  });

  it('builds drivers/md files as objects, with warnings and failures per file', { timeout: 5 * 60_000 }, async (t) => {
    const src = needKernel(t, 'linuxSrc');
    const headers = needKernel(t, 'headers');
    if (!src || !headers) return;
    const dir = join(mkdtempSync(join(tmpdir(), 'kcrumb-kbuild-')), 'md');
    cpSync(join(src, 'drivers', 'md'), dir, { recursive: true });
    mkdirSync(join(dir, 'extra'));
    writeFileSync(
      join(dir, 'extra', 'late-decl.c'),
      '// SPDX-License-Identifier: GPL-2.0\n#include <linux/module.h>\nint late_decl(int a);\nint late_decl(int a)\n{\n\ta++;\n\tint b = a;\n\treturn b;\n}\nMODULE_LICENSE("GPL");\n',
    );
    const files = ['dm-zero.c', 'dm-delay.c', 'raid1-10.c', 'persistent-data/dm-array.c', 'extra/late-decl.c'];
    const started = Date.now();
    const results = await compileObjects(dir, files, { logFile: join(dir, '..', 'make.log') });
    t.diagnostic(`${files.length} files in ${Date.now() - started} ms; log ${join(dir, '..', 'make.log')}`);
    assert.deepEqual([...results.keys()], files);
    for (const file of ['dm-zero.c', 'dm-delay.c', 'persistent-data/dm-array.c']) {
      assert.deepEqual(results.get(file), { built: true, warnings: [], errors: [] }, file);
    }
    const raid = results.get('raid1-10.c')!;
    assert.equal(raid.built, false);
    assert.ok(raid.errors.length > 0);
    assert.ok(raid.errors.every((e) => e.startsWith('raid1-10.c:') && !/^\S+:\d+:\d+:/.test(e)), raid.errors[0]);
    assert.ok(raid.warnings.includes("raid1-10.c:36: warning: 'rbio_pool_free' defined but not used [-Wunused-function]"), raid.warnings.join('\n'));
    assert.deepEqual(results.get('extra/late-decl.c'), {
      built: true,
      warnings: ['extra/late-decl.c:7: warning: ISO C90 forbids mixed declarations and code [-Wdeclaration-after-statement]'],
      errors: [],
    });
  });
});
