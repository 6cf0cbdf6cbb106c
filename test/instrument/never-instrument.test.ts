/**
 * Code kcrumb never instruments, decided by the file's place in the kernel tree: scheduler, timekeeping,
 * printk and console code, where a printk can deadlock. One entry per file, with why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neverInstrumentFile } from '../../src/parse/never-instrument.js';
import { instrumentForTest } from '../support/instrument-text.js';

const SOURCE = 'static void f(int x)\n{\n\tg(x);\n\th(x);\n}\n';

describe('never instrumented, by path', () => {
  it('names the folders, relative or absolute, and nothing else', () => {
    assert.match(neverInstrumentFile('kernel/sched/core.c', '/src/linux')!, /scheduler.*runqueue lock/);
    assert.match(neverInstrumentFile('kernel/time/timekeeping.c', '/src/linux')!, /timekeeping/);
    assert.match(neverInstrumentFile('/usr/src/linux/kernel/printk/printk.c', '/home/me')!, /printk itself/);
    assert.match(neverInstrumentFile('drivers/tty/serial/8250/8250_port.c', '/src/linux')!, /port lock/);
    assert.match(neverInstrumentFile('vt.c', '/src/linux/drivers/tty/vt')!, /console lock/);
    assert.match(neverInstrumentFile('../time/clocksource.c', '/src/linux/kernel/sched')!, /timekeeping/);
    for (const path of ['drivers/md/dm.c', 'kernel/scheduler.c', 'kernel/sched.c', 'drivers/tty/tty_io.c', 'mykernel/sched/x.c']) {
      assert.equal(neverInstrumentFile(path, '/src/linux'), undefined, path);
    }
  });

  it('sets such files aside, one line each, in the result and the manifest', async () => {
    const result = await instrumentForTest(
      [
        { path: 'drivers/md/dm-x.c', text: SOURCE },
        { path: 'kernel/sched/fair.c', text: SOURCE },
        { path: 'kernel/time/timer.c', text: SOURCE },
      ],
      { level: 'every-line', functions: ['*'] },
    );
    assert.deepEqual(result.outputs.map((o) => o.path), ['drivers/md/dm-x.c']);
    assert.deepEqual(result.skippedFiles.map((f) => f.path), ['kernel/sched/fair.c', 'kernel/time/timer.c']);
    assert.deepEqual(result.manifest.skippedFiles, result.skippedFiles);
    assert.deepEqual(result.manifest.files.map((f) => f.path), ['drivers/md/dm-x.c']);
    assert.deepEqual(result.skipped, [], 'no per-function entries for a file set aside');
  });

  it('refuses a run where nothing is left', async () => {
    await assert.rejects(
      instrumentForTest([{ path: 'kernel/printk/printk.c', text: SOURCE }], { level: 'every-line', functions: ['*'] }),
      /never instruments kernel\/printk\/printk\.c: printk itself/,
    );
  });
});
