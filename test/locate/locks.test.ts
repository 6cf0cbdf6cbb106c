/**
 * The root of a multi-CPU freeze, from constructed trails over fixtures/dm-locks.c (instrumented at
 * every-line; its breadcrumbs, see the ids printed by the helper's manifest):
 *   lk_count 1-4 (1 spin_lock(&c->a), 3 unlock), lk_flush 5-10 (5 spin_lock_irq(&c->a), 7 unlock,
 *   8 spin_lock(&o->a) of another struct, 9 unlock), lk_map 11-19 (11 lock a, 12 lock b, 13 lc->n++,
 *   14 while, 15 loop body, 16 unlock b, 17 unlock a, 19 return), lk_end_io 20-25 (20 lock b, 21 lock a,
 *   23 unlock a, 24 unlock b, 25 return), lk_presuspend 26-29 (26 mutex_lock, 27 lk_flush(lc, o),
 *   28 mutex_unlock), lk_postsuspend 30-33 (30 lock a, 31 lc->n = lk_count(lc), 32 unlock a),
 *   lk_dtr 34-39 (34 locks_table_lock(lc), a wrapper defined elsewhere; 36 its unlock).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflicts, lockSitesOf, matchLocks, type LockSite } from '../../src/locate/locks.js';
import { normalizeLockExpression } from '../../src/vocabulary/sync.js';
import { instrumentForTest } from '../support/instrument-text.js';
import { crumbs, instrumentedFixture, locateText, merge, render, softLockup, withoutLockTypes, type Format } from './helpers.js';

const TAG = 'kq7x';

/** The lock sites of `statements` as instrument records them, inside a function `fn` (every-line: one breadcrumb per statement). */
async function site(statements: string, fn = 'f', instrumented: string[] = []): Promise<LockSite[]> {
  const body = /[;}]\s*$/.test(statements) ? statements : `${statements} ;`;
  const result = await instrumentForTest([{ path: 'f.c', text: `void ${fn}(void)\n{\n\t${body}\n}\n` }], { level: 'every-line', functions: [fn] });
  return result.manifest.crumbs.flatMap((crumb) => lockSitesOf(crumb.sync ?? [], crumb.function, new Set(instrumented)));
}

describe('lock operations in a statement', () => {
  it('reads the kernel primitives, their lock expression and mode', async () => {
    const [s] = (await site('spin_lock_irqsave(&rc->lock, flags);'));
    assert.deepEqual(
      { kind: s.kind, name: s.name, base: s.base, path: s.path, mode: s.mode },
      { kind: 'acquire', name: 'rc->lock', base: 'rc', path: '->lock', mode: 'exclusive' },
    );
    assert.equal((await site('raw_spin_lock_bh(&pool->lock);'))[0].kind, 'acquire');
    assert.equal((await site('write_lock_irq(&t->rw);'))[0].mode, 'exclusive');
    assert.equal((await site('read_lock(&t->rw);'))[0].mode, 'shared');
    assert.equal((await site('down_read(&md->io_barrier);'))[0].mode, 'shared');
    assert.equal((await site('if (mutex_lock_interruptible(&c->m))'))[0].kind, 'acquire');
    assert.equal((await site('r = down_timeout(&s->sem, HZ);'))[0].name, 's->sem');
    assert.equal((await site('rt_mutex_lock(&lock);'))[0].name, 'lock');
    assert.deepEqual((await site('if (!mutex_trylock(&c->m))')).map((s) => s.kind), ['try']);
    assert.deepEqual((await site('spin_unlock_irqrestore(&rc->lock, flags);')).map((s) => [s.kind, s.name]), [['release', 'rc->lock']]);
    assert.deepEqual((await site('up_write(&md->sem); up(&x->s);')).map((s) => [s.kind, s.name]), [['release', 'md->sem'], ['release', 'x->s']]);
    assert.equal((await site('spin_lock_nested(&child->lock, SINGLE_DEPTH_NESTING);'))[0].nested, true);
  });

  it('is not fooled by lock-like names that take no lock', async () => {
    for (const statement of ['rcu_read_lock();', 'spin_lock_init(&rc->lock);', 'lockdep_assert_held(&rc->lock);', 'mutex_init(&c->m);', 'ops->lock(x);', 'if (spin_is_locked(&l))']) {
      assert.deepEqual(await site(statement), [], statement);
    }
  });

  it('reads driver wrappers by name, unless they have breadcrumbs of their own', async () => {
    assert.deepEqual((await site('dm_bufio_lock(c);')).map((s) => [s.kind, s.name, s.wrapper]), [['acquire', 'dm_bufio_lock(c)', true]]);
    assert.deepEqual((await site('dm_bufio_unlock(c);')).map((s) => [s.kind, s.name]), [['release', 'dm_bufio_lock(c)']]);
    assert.deepEqual((await site('unlock_page(page);')).map((s) => [s.kind, s.name]), [['release', 'lock_page(page)']]);
    assert.deepEqual((await site('dm_bufio_lock(c);', 'f', ['dm_bufio_lock'])), []);
  });

  it('records the struct a lock lives in where the function declares it, and seqlock writers as locks', async () => {
    const result = await instrumentForTest(
      [{ path: 'f.c', text: 'struct s { int x; };\nvoid f(struct remap_c *rc, struct other_c *o)\n{\n\tstruct third *t = rc->t;\n\tspin_lock(&rc->lock);\n\twrite_seqlock(&o->seq);\n\tmutex_lock(&t->m);\n\tspin_lock(&g->lock);\n}\n' }],
      { level: 'every-line', functions: ['f'] },
    );
    const sites = result.manifest.crumbs.flatMap((crumb) => lockSitesOf(crumb.sync ?? [], crumb.function, new Set()));
    assert.deepEqual(sites.map((s) => [s.primitive, s.name, s.type]), [
      ['spin_lock', 'rc->lock', 'struct remap_c'],
      ['write_seqlock', 'o->seq', 'struct other_c'],
      ['mutex_lock', 't->m', 'struct third'],
      ['spin_lock', 'g->lock', undefined],
    ]);
  });

  it('normalises the expression, and a call over two lines', async () => {
    for (const text of ['&rc->lock', '& rc -> lock', '&(rc->lock)', '&(rc)->lock', '&(*rc).lock']) assert.equal(normalizeLockExpression(text), 'rc->lock', text);
    assert.equal((await site('spin_lock_irqsave(&rc->lock,\n\t\t\t  flags);'))[0].name, 'rc->lock');
  });

  it('matches locks by expression, then by type and member, and says how sure', async () => {
    const [a] = (await site('spin_lock(&rc->lock);', 'f'));
    const [b] = (await site('spin_lock(&rc->lock);', 'g'));
    const [c] = (await site('spin_lock(&c->lock);', 'g'));
    assert.equal(matchLocks(a, { ...a }), 'same-function');
    assert.equal(matchLocks(a, b), 'same-expression');
    assert.equal(matchLocks(a, c), 'same-member');
    assert.equal(matchLocks({ ...a, type: 'struct remap_c' }, { ...c, type: 'struct remap_c' }), 'same-type');
    assert.equal(matchLocks({ ...a, type: 'struct remap_c' }, { ...c, type: 'struct other_c' }), undefined);
    assert.equal(matchLocks(a, (await site('spin_lock(&rc->other);', 'f'))[0]), undefined);
    assert.equal(conflicts('shared', 'shared'), false);
    assert.equal(conflicts('shared', 'exclusive'), true);
  });
});

describe('the root of a freeze, from constructed trails', async () => {
  const { manifest } = await instrumentedFixture('dm-locks.c');
  const at = (s: { crumb: { line: number } } | undefined) => s?.crumb.line;

  it('self-deadlock through a call: lk_postsuspend holds lc->a, lk_count takes c->a (same type, another name)', () => {
    const events = merge(crumbs(TAG, [11, 12, 13, 14, 16, 17, 18, 19], 1, 10), crumbs(TAG, [30, 31, 1], 0, 20), crumbs(TAG, [20, 21, 22, 23, 24, 25], 1, 30));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'self-deadlock');
    assert.equal(answer.root?.cpu, 0);
    assert.equal(at(answer.root?.at), 32, 'spin_lock(&c->a) in lk_count');
    assert.equal(answer.root?.lock?.held?.at.crumb.id, 30);
    assert.equal(answer.root?.lock?.match, 'same-type');
    assert.equal(answer.root?.confidence, 'medium');
    assert.equal(answer.last?.cpu, 1, 'CPU 1 printed on after it');
    // without the types, only the member path links them: still found, and marked a guess
    const guessed = locateText(render(events, 'console'), [withoutLockTypes(manifest)]);
    assert.equal(guessed.root?.reason, 'self-deadlock');
    assert.equal(guessed.root?.lock?.match, 'same-member');
    assert.equal(guessed.root?.confidence, 'low');
  });

  it('holds-lock-waited-by: a chain of waiters ends at the CPU spinning with the locks held', () => {
    const events = merge(
      crumbs(TAG, [11, 12, 13, 14, 15, 15, 15], 1, 10), // CPU 1 spins in lk_map holding a and b
      crumbs(TAG, [26, 27, 5], 0, 11), // CPU 0 holds the mutex, waits for c->a in lk_flush
      crumbs(TAG, [26], 2, 12), // CPU 2 waits for the mutex CPU 0 holds
    );
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'holds-lock-waited-by');
    assert.equal(answer.root?.cpu, 1);
    assert.equal(at(answer.root?.at), 55, 'the loop body CPU 1 spins in');
    assert.equal(answer.root?.lock?.site.name, 'lc->a');
    assert.equal(answer.last?.cpu, 2, 'the last breadcrumb is a victim\'s');
    const waits = Object.fromEntries(answer.waits.map((w) => [w.cpu, [w.site.name, w.holders.map((h) => h.cpu)]]));
    assert.deepEqual(waits, { 0: ['c->a', [1]], 2: ['lc->m', [0]] });
    assert.match(answer.root!.why, /CPU 0, CPU 2 wait for it/);
  });

  it('a lock of another struct type is not the one waited for', () => {
    // CPU 0 spins in lk_map holding lc->a (struct locks_c); CPU 1 waits in lk_flush for o->a (struct other_c)
    const events = merge(crumbs(TAG, [11, 12, 13, 14, 15], 0, 10), crumbs(TAG, [26, 27, 5, 6, 7, 8], 1, 11));
    const typed = locateText(render(events, 'console'), [manifest]);
    assert.deepEqual(typed.waits.map((w) => [w.cpu, w.site.name, w.site.type, w.holders.length]), [[1, 'o->a', 'struct other_c', 0]]);
    assert.notEqual(typed.root?.reason, 'holds-lock-waited-by');
    // without the types only the member path is there to compare: a match, but a guess, and said so
    const untyped = locateText(render(events, 'console'), [withoutLockTypes(manifest)]);
    assert.equal(untyped.root?.reason, 'holds-lock-waited-by');
    assert.equal(untyped.root?.confidence, 'low');
    assert.match(untyped.root!.why, /a guess/);
  });

  for (const format of ['console', 'console-caller', 'console-notime', 'kmsg'] as Format[]) {
    it(`abba: lk_map holds a and waits for b, lk_end_io holds b and waits for a (${format})`, () => {
      const events = merge(crumbs(TAG, [11, 12], 0, 10, 300), crumbs(TAG, [20, 21], 1, 10.01, 301));
      const answer = locateText(render(events, format), [manifest]);
      assert.equal(answer.root?.reason, 'abba');
      assert.equal(answer.root?.cpu, 0, 'the CPU that stopped first');
      assert.equal(at(answer.root?.at), 52);
      assert.equal(answer.root?.cycle?.length, 2);
      assert.equal(answer.root?.confidence, 'high');
      assert.equal(answer.last?.cpu, 1);
    });
  }

  it('a driver\'s wrapper without breadcrumbs is a lock by its name', () => {
    const events = merge(crumbs(TAG, [34, 35], 1, 10), crumbs(TAG, [34], 0, 11));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'holds-lock-waited-by');
    assert.equal(answer.root?.cpu, 1);
    assert.equal(answer.root?.lock?.site.name, 'locks_table_lock(lc)');
    assert.deepEqual(answer.held.get('CPU1')?.map((h) => h.site.name), ['locks_table_lock(lc)']);
  });

  it('stopped-first: no lock links them; the CPU that stopped inside a function while another went on', () => {
    const events = merge(crumbs(TAG, [30, 31, 1, 2, 3, 4, 32, 33], 0, 9), crumbs(TAG, [34, 35], 0, 10), crumbs(TAG, [20, 21, 22, 23, 24, 25], 1, 11));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'stopped-first');
    assert.equal(answer.root?.cpu, 0);
    assert.equal(at(answer.root?.at), 98);
    assert.equal(answer.last?.cpu, 1);
    assert.match(answer.root!.why, /CPU 1 printed on after it/);
  });

  it('stopped-first among several stopped CPUs: the one the kernel reported stuck', () => {
    const events = merge(crumbs(TAG, [34, 35], 0, 10), crumbs(TAG, [11, 12, 13, 14, 15], 1, 11), softLockup(1, 40, 400, 'lk_map'));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'stopped-first');
    assert.equal(answer.root?.cpu, 1, 'CPU 0 stopped earlier, but the kernel names CPU 1');
    assert.ok(answer.root?.checks.some((c) => /agrees with the root/.test(c)), answer.root?.checks.join('; '));
  });

  it('unknown: a waiter whose lock no trail holds, or CPUs that all left their functions', () => {
    const orphan = merge(crumbs(TAG, [11, 12, 13, 14, 16, 17, 18, 19], 1, 10), crumbs(TAG, [30], 0, 11));
    const answer = locateText(render(orphan, 'console'), [manifest]);
    assert.equal(answer.root?.reason, 'unknown');
    assert.equal(answer.root?.cpu, 0, 'names the waiter, where it was');
    assert.match(answer.root!.why, /not enough evidence.*CPU 0 waits for lc->a, which no trail shows held/);
    const left = merge(crumbs(TAG, [11, 12, 13, 14, 16, 17, 18, 19], 1, 10), crumbs(TAG, [20, 21, 22, 23, 24, 25], 0, 11));
    const none = locateText(render(left, 'console'), [manifest]);
    assert.equal(none.root?.reason, 'unknown');
    assert.equal(none.root?.at, none.last);
    assert.match(none.root!.why, /leaves its function/);
    const alone = locateText(render(crumbs(TAG, [34, 35], 0, 10), 'console'), [manifest]);
    assert.equal(alone.root?.reason, 'unknown');
    assert.match(alone.root!.why, /only CPU 0 printed breadcrumbs/);
  });

  it('locks taken and dropped long before the trail kept are still counted', () => {
    // the lock is taken, then 40 breadcrumbs of loop body: far more than the trail of 3 kept
    const events = merge(crumbs(TAG, [11, 12, 13, 14, ...Array(40).fill(15)], 1, 10), crumbs(TAG, [20], 0, 20));
    const answer = locateText(render(events, 'console'), [manifest], { trail: 3 });
    assert.equal(answer.root?.reason, 'holds-lock-waited-by');
    assert.equal(answer.root?.lock?.site.name, 'lc->b');
  });
});
