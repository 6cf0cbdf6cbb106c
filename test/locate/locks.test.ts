/**
 * Lock operations as instrument records them, and what only a test can build: the root of a freeze over
 * a manifest without struct types, and ABBA in several formats. The cases over a real manifest are folders
 * of test/fixtures/locate/. Trails over fixtures/dm-locks.c (instrumented at
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
import { crumbs, instrumentedFixture, locateText, merge, render, withoutLockTypes, type Format } from './helpers.js';

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

describe('lock matches without the struct types (a manifest instrument cannot write: test/fixtures/locate has the typed cases)', async () => {
  const { manifest } = await instrumentedFixture('dm-locks.c');
  const untyped = withoutLockTypes(manifest);
  const at = (s: { crumb: { line: number } } | undefined) => s?.crumb.line;

  it('self-deadlock through a call: only the member path links lc->a and c->a, still found, and marked a guess', () => {
    const events = merge(crumbs(TAG, [11, 12, 13, 14, 16, 17, 18, 19], 1, 10), crumbs(TAG, [30, 31, 1], 0, 20), crumbs(TAG, [20, 21, 22, 23, 24, 25], 1, 30));
    const guessed = locateText(render(events, 'console'), [untyped]);
    assert.equal(guessed.root?.reason, 'self-deadlock');
    assert.equal(guessed.root?.lock?.match, 'same-member');
    assert.equal(guessed.root?.confidence, 'low');
  });

  it('a lock of another struct type: without the types a match, but a guess, and said so', () => {
    // CPU 0 spins in lk_map holding lc->a (struct locks_c); CPU 1 waits in lk_flush for o->a (struct other_c)
    const events = merge(crumbs(TAG, [11, 12, 13, 14, 15], 0, 10), crumbs(TAG, [26, 27, 5, 6, 7, 8], 1, 11));
    const guessed = locateText(render(events, 'console'), [untyped]);
    assert.equal(guessed.root?.reason, 'holds-lock-waited-by');
    assert.equal(guessed.root?.confidence, 'low');
    assert.match(guessed.root!.why, /a guess/);
  });

  for (const format of ['console', 'console-caller', 'console-notime', 'kmsg'] as Format[]) {
    it(`abba: lk_map holds a and waits for b, lk_end_io holds b and waits for a (${format})`, () => {
      const events = merge(crumbs(TAG, [11, 12], 0, 10, 300), crumbs(TAG, [20, 21], 1, 10.01, 301));
      const answer = locateText(render(events, format), [manifest]);
      assert.equal(answer.root?.reason, 'abba');
      assert.equal(answer.root?.cpu, 0, 'the CPU that stopped first');
      assert.equal(at(answer.root?.at), 52);
      assert.equal(answer.root?.cycle?.length, 2);
      assert.equal(answer.last?.cpu, 1);
    });
  }
});
