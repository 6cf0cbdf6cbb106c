/**
 * Debian's real drivers/md (linux-source-6.1), every .c file:
 * - instrumenting every function at every level and stripping gives back each file byte for byte;
 * - re-parsing the instrumented text finds every breadcrumb where its manifest says (checkPlacement);
 * - under 1% of functions are skipped, each with a reason;
 * - the default selection finds the map/end_io/suspend/dtr hooks of every dm-*.c target;
 * - it follows deferred work: the handlers of work, timers and threads the selected code queues or arms,
 *   and callbacks it passes, with the edge in the reason.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import type { Level } from '../../src/manifest/schema.js';
import { stripBreadcrumbs } from '../../src/strip/strip.js';
import { checkPlacement } from '../support/check-placement.js';
import { instrumentForTest, PRINTK_TEMPLATE } from '../support/instrument-text.js';
import { needKernel } from '../support/kernel-env.js';

function cFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? cFiles(full) : name.endsWith('.c') ? [full] : [];
  });
}

/** The I/O-path, suspend and teardown hooks issue #2 names. */
const REQUIRED_HOOKS = ['map', 'clone_and_map_rq', 'end_io', 'rq_end_io', 'presuspend', 'presuspend_undo', 'postsuspend', 'dtr'];

describe('drivers/md of linux-source-6.1', () => {
  for (const level of ['every-line', 'branches', 'functions'] as Level[]) {
    it(`round trip and placement at ${level}, every function of every file`, async (t) => {
      const src = needKernel(t, 'linuxSrc');
      if (!src) return;
      const files = cFiles(join(src, 'drivers', 'md'));
      assert.ok(files.length >= 100, `expected the whole drivers/md, found ${files.length} .c files`);
      let functions = 0;
      const skipped: string[] = [];
      const misplaced: string[] = [];
      for (const path of files) {
        const text = readFileSync(path, 'latin1');
        const name = relative(src, path);
        if (!/^\s*[a-z_].*\(/m.test(text)) continue;
        const result = await instrumentForTest([{ path: name, text }], { level, functions: ['*'] }).catch((error: Error) => {
          if (error.message.includes('matches no function')) return undefined;
          throw error;
        });
        if (!result) continue;
        functions += result.selected.length + result.skipped.length;
        skipped.push(...result.skipped.map((s) => `${name}:${s.line} ${s.name}: ${s.reason}`));
        for (const output of result.outputs) {
          assert.ok(stripBreadcrumbs(output.text, [PRINTK_TEMPLATE]).text === text, `${name}: strip does not restore the original`);
          assert.equal(output.text.split('\n').length, text.split('\n').length, `${name}: line count changed`);
          if (level === 'every-line') misplaced.push(...(await checkPlacement(output.text, result.manifest, 0)).map((p) => `${name} ${p}`));
        }
      }
      assert.deepEqual(misplaced, [], 'breadcrumbs not where the manifest says');
      assert.ok(functions > 3000, `only ${functions} functions found`);
      const rate = skipped.length / functions;
      t.diagnostic(`${functions} functions, ${skipped.length} skipped (${(100 * rate).toFixed(2)}%)`);
      assert.ok(rate < 0.01, `skipped ${skipped.length} of ${functions}:\n${skipped.join('\n')}`);
    });
  }

  it('default selection starts from every target_type hook in each dm-*.c', async (t) => {
    const src = needKernel(t, 'linuxSrc');
    if (!src) return;
    const md = join(src, 'drivers', 'md');
    let targets = 0;
    for (const name of readdirSync(md).filter((n) => /^dm-.*\.c$/.test(n))) {
      const text = readFileSync(join(md, name), 'latin1');
      // The hooks, read with a plain regex over each `struct target_type x = { ... };` initializer.
      const initializers = [...text.matchAll(/struct target_type \w+ = \{([\s\S]*?)\n\};/g)].map((m) => m[1]).join('\n');
      const hooks = [...initializers.matchAll(/^\s*\.(\w+)\s*=\s*(\w+)\s*,/gm)].filter((m) => REQUIRED_HOOKS.includes(m[1]));
      if (hooks.length === 0) continue;
      targets++;
      const result = await instrumentForTest([{ path: name, text }], { level: 'functions' });
      const selected = new Set([...result.selected, ...result.skipped].map((s) => s.name));
      for (const [, hook, fn] of hooks) assert.ok(selected.has(fn), `${name}: .${hook} = ${fn} not selected`);
    }
    assert.ok(targets >= 20, `only ${targets} dm targets found`);
  });

  it('default selection follows deferred work: queued work, armed timers, woken threads, callbacks', async (t) => {
    const src = needKernel(t, 'linuxSrc');
    if (!src) return;
    const md = join(src, 'drivers', 'md');
    /** Files given together, and for each handler the edge its reason must end with. */
    const cases: [string[], Record<string, string>][] = [
      [
        ['dm-delay.c'],
        {
          handle_delayed_timer: '-> queue_timeout -> mod_timer(delay_timer) -> handle_delayed_timer',
          flush_expired_bios: '-> handle_delayed_timer -> queue_work(flush_expired_bios) -> flush_expired_bios',
        },
      ],
      [
        ['dm-crypt.c'],
        {
          kcryptd_io_read_work: '-> kcryptd_queue_read -> queue_work(work) -> kcryptd_io_read_work',
          kcryptd_crypt_write_continue: '-> queue_work(work) -> kcryptd_crypt_write_continue',
          dmcrypt_write: '-> kcryptd_crypt_write_io_submit -> wake_up_process(write_thread) -> dmcrypt_write',
          kcryptd_async_done: '-> aead_request_set_callback(callback) -> kcryptd_async_done',
          crypt_endio: '-> .bi_end_io = crypt_endio',
        },
      ],
      [
        ['dm-thin.c', 'dm-thin-metadata.c'],
        {
          do_worker: '-> wake_worker -> queue_work(worker) -> do_worker',
          do_no_space_timeout: '-> queue_delayed_work(no_space_timeout) -> do_no_space_timeout',
        },
      ],
      [['dm-mpath.c'], { queue_if_no_path_timeout_work: '-> mod_timer(nopath_timer) -> queue_if_no_path_timeout_work' }],
      [['dm-raid1.c'], { do_mirror: '-> queue_work(kmirrord_work) -> do_mirror' }],
    ];
    for (const [names, expected] of cases) {
      const files = names.map((name) => ({ path: name, text: readFileSync(join(md, name), 'latin1') }));
      const result = await instrumentForTest(files, { level: 'functions' });
      for (const [handler, edge] of Object.entries(expected)) {
        const selected = result.selected.find((s) => s.name === handler);
        assert.ok(selected, `${names.join(' ')}: ${handler} not selected`);
        assert.ok(selected.reason.endsWith(edge), `${handler}: ${selected.reason}\n  should end with ${edge}`);
        assert.ok(selected.reason.startsWith('struct target_type '), `${handler}: the reason starts at a target_type hook`);
      }
    }
  });
});
