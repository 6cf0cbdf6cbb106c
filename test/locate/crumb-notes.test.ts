/**
 * What locate-freeze adds about where the last breadcrumb ran: a spinlock held or interrupts off (read by
 * instrument from the function), and a loop breadcrumb that reached --loop-limit and went quiet.
 * The fixture is dm-demo.c: #2-#3 are demo_wait_idle's loop body, #6-#10 run under spin_lock_irq.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest } from '../../src/manifest/schema.js';
import { formatText } from '../../src/locate/report.js';
import { formatJson } from '../../src/locate/answer-json.js';
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

  it('a loop breadcrumb that printed --loop-limit times: the loop may have gone on silently', async () => {
    const manifest = withLimit((await demo()).manifest, 3);
    const answer = locateText(spinning(50, 3), [manifest]);
    assert.equal(answer.last?.crumb.id, 3);
    assert.deepEqual(answer.quietLoop, { id: 3, limit: 3, printed: 3 });
    const text = formatText(answer, { paths }).join('\n');
    assert.match(text, /note: #3 is in a loop and printed 3 time\(s\), the --loop-limit of 3: .*kept running silently/);
    assert.match(text, /#2 \(demo_wait_idle, loop\): cpu_relax\(\); \[printed 3x, its --loop-limit: it may have run since, silently\]/);
    const json = formatJson(answer, paths) as { quietLoop: { id: number; limit: number; note: string }; next: { id: number; quiet: boolean }[] };
    assert.equal(json.quietLoop.id, 3);
    assert.equal(json.quietLoop.limit, 3);
    assert.equal(json.next.find((n) => n.id === 2)?.quiet, true);
  });

  it('no note when the loop stopped before the limit, or the run had no limit', async () => {
    const { manifest } = await demo();
    assert.equal(locateText(spinning(2, 3), [withLimit(manifest, 3)]).quietLoop, undefined);
    assert.equal(locateText(spinning(50, 3), [withLimit(manifest, undefined)]).quietLoop, undefined);
    const text = formatText(locateText(spinning(2, 3), [withLimit(manifest, 3)]), { paths }).join('\n');
    assert.doesNotMatch(text, /loop-limit/);
  });

  it('says when the last breadcrumb ran with interrupts off, and tags the trail', async () => {
    const { manifest } = await demo();
    const answer = locateText(render(merge(bootEvents(), crumbs('kq7x', [5, 6, 7, 8, 1], 1, 10), crumbs('kq7x', [5, 6, 9], 0, 12)), 'console'), [manifest]);
    assert.equal(answer.last?.crumb.id, 9);
    const text = formatText(answer, { paths }).join('\n');
    assert.match(text, /\n {2}runs with interrupts off \(spin_lock_irq\(&dc->lock\)\)/);
    assert.match(text, /#6 drivers\/md\/dm-demo\.c:32:\d+ demo_map \[irqs-off\]: if/);
    assert.match(text, /#5 drivers\/md\/dm-demo\.c:31:\d+ demo_map: spin_lock_irq/);
    const json = formatJson(answer, paths) as { last: { context: string; heldBy: string } };
    assert.equal(json.last.context, 'irqs-off');
    assert.equal(json.last.heldBy, 'spin_lock_irq(&dc->lock)');
  });
});
