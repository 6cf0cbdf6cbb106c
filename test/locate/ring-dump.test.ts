/**
 * Ring dumps (--sink ring) merged with live printk breadcrumbs: a dump is printed when the kernel dies,
 * after everything, so its entries go by their own clock (t=), not by where they sit in the log.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentForTest } from '../support/instrument-text.js';
import { locateText } from './helpers.js';

const SOURCE = `static int f(int n)
{
	n++;
	n--;
	n *= 2;
	return n;
}
`;

describe('ring dump read with live breadcrumbs', async () => {
  const { manifest } = await instrumentForTest([{ path: 'f.c', text: SOURCE }], { level: 'every-line', functions: ['f'] });
  const dump = (entries: string[]) => [
    '[    9.000000] Kernel panic - not syncing: RCU Stall',
    '[    9.000001] kcrumb-ring: dump on panic: 2 CPUs, up to 64 entries each',
    ...entries.map((e) => `[    9.000002] kcrumb-ring: ${e}`),
    `[    9.000003] kcrumb-ring: end of dump: ${entries.length} entries`,
  ];

  it('a live breadcrumb that ran after every dumped entry is the last one, though the dump comes later in the log', () => {
    const log = ['[    5.000000] kfix#3@0', ...dump(['kfix#1@1 t=4.000000000', 'kfix#2@1 t=4.500000000'])].join('\n');
    const answer = locateText(log, [manifest]);
    assert.equal(answer.last!.crumb.id, 3);
    assert.equal(answer.last!.fromDump, undefined);
    assert.equal(answer.ringDump, undefined, 'the answer did not come from the dump');
    assert.deepEqual(answer.threads.map((t) => t.key), ['CPU0', 'CPU1']);
  });

  it('a dumped entry that ran later is the last one, with its own time and the dump named', () => {
    const log = ['[    5.000000] kfix#3@0', ...dump(['kfix#1@1 t=4.000000000', 'kfix#2@1 t=5.500000000'])].join('\n');
    const answer = locateText(log, [manifest]);
    assert.equal(answer.last!.crumb.id, 2);
    assert.equal(answer.last!.fromDump, true);
    assert.equal(answer.last!.time, 5.5);
    assert.deepEqual(answer.ringDump && { reason: answer.ringDump.reason, entries: answer.ringDump.entries }, { reason: 'panic', entries: 2 });
  });

  it('one CPU with live and dumped breadcrumbs: its trail goes by time', () => {
    const log = ['[    5.000000] kfix#2@1', ...dump(['kfix#1@1 t=4.000000000', 'kfix#3@1 t=6.000000000'])].join('\n');
    const answer = locateText(log, [manifest]);
    assert.deepEqual(answer.threads[0].crumbs.map((s) => s.crumb.id), [1, 2, 3]);
  });

  it('--sink ring --task-id: a dumped entry with a pid goes to that task\'s trail', () => {
    const log = dump(['kfix#1@0.233 t=4.000000000', 'kfix#2@1.233 t=4.100000000', 'kfix#3@1.77 t=4.200000000']).join('\n');
    const answer = locateText(log, [manifest]);
    assert.deepEqual(answer.threads.map((t) => [t.key, t.crumbs.map((c) => c.crumb.id)]), [['T77', [3]], ['T233', [1, 2]]]);
  });

  it('debugfs text (no printk prefix, no dump header) is read as a dump', () => {
    const answer = locateText('kfix#1@0 t=1.000000000\nkfix#2@0 t=1.000000100\n', [manifest]);
    assert.equal(answer.last!.crumb.id, 2);
    assert.equal(answer.ringDump?.reason, 'unknown');
  });

  it('a warning, then the debugfs file read long after it: the warning gets its CPU\'s last entry before its time, however many came after', () => {
    const at = (i: number) => `t=5.${String(i).padStart(9, '0')}`;
    const warning = [
      '[    5.000000500] ------------[ cut here ]------------',
      '[    5.000000500] WARNING: CPU: 0 PID: 110 at f.c:3 f+0x1/0x2 [fix]',
      '[    5.000000501] CPU: 0 PID: 110 Comm: dd Not tainted 6.1.0 #1',
      '[    5.000000502] ---[ end trace 0000000000000000 ]---',
    ];
    // #2 ran just before the warning; then 500 entries of #1 and #3 after it, more than any kept trail
    const read = ['kfix#2@0 t=5.000000400', ...Array.from({ length: 500 }, (_, i) => `kfix#${i % 2 ? 3 : 1}@0 ${at(1000 + i)}`)];
    const answer = locateText([...warning, ...read].join('\n'), [manifest]);
    assert.equal(answer.reports[0].report.title, 'WARNING in f');
    assert.equal(answer.reports[0].crumb?.crumb.id, 2);
    assert.equal(answer.last!.crumb.id, 3, 'the last entry read is still the trail\'s last');
  });
});
