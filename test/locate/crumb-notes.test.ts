/**
 * What locate-freeze adds about where the last breadcrumb ran: a spinlock held or interrupts off (read by
 * instrument from the function), and a loop breadcrumb that reached --loop-limit and went quiet.
 * The fixture is dm-demo.c: #2-#3 are demo_wait_idle's loop body, #6-#10 run under spin_lock_irq. The notes
 * themselves, on a real --loop-limit run, are folders of test/fixtures/locate/ (note-*).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest } from '../../src/manifest/schema.js';
import { formatText } from '../../src/locate/report.js';
import { bootEvents, crumbs, demo, locateText, merge, render } from './helpers.js';

const paths = { display: () => 'drivers/md/dm-demo.c' };

function withLimit(manifest: Manifest, loopLimit: number | undefined): Manifest {
  return { ...manifest, loopLimit };
}

/** CPU 1 enters demo_wait_idle and goes round its loop `passes` times, printing as the limit lets it. */
function spinning(passes: number, limit: number): string {
  const body = Array.from({ length: Math.min(passes, limit) }, () => [2, 3]).flat();
  return render(merge(bootEvents(), crumbs('kq7x', [5, 6, 7, 8, 1, ...body], 1, 10)), 'console');
}

describe('locate-freeze notes on the last breadcrumb', () => {
  it('instrument marked the loop body and the spin_lock_irq section of the fixture', async () => {
    const { manifest } = await demo();
    assert.deepEqual(manifest.crumbs.filter((c) => c.loop).map((c) => c.id), [2, 3]);
    assert.deepEqual(manifest.crumbs.filter((c) => c.context === 'irqs-off').map((c) => c.id), [6, 7, 8, 9, 10, 14, 15]);
    assert.equal(manifest.crumbs[6].heldBy, 'spin_lock_irq(&dc->lock)');
  });

  it('no note when the loop stopped before the limit, or the run had no limit', async () => {
    const { manifest } = await demo();
    assert.equal(locateText(spinning(2, 3), [withLimit(manifest, 3)]).quietLoop, undefined);
    assert.equal(locateText(spinning(50, 3), [withLimit(manifest, undefined)]).quietLoop, undefined);
    const text = formatText(locateText(spinning(2, 3), [withLimit(manifest, 3)]), { paths }).join('\n');
    assert.doesNotMatch(text, /loop-limit/);
  });
});
