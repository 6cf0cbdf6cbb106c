import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFrame, topInstrumentedFrame } from '../../src/reports/frame.js';
import { ReportParser } from '../../src/reports/parse.js';
import { parseLogLine } from '../../src/log/log-line.js';
import { crumbs, demo, locateText, merge, render, say, softLockup, type Event } from './helpers.js';

function reportsOf(lines: string[]) {
  const parser = new ReportParser();
  lines.forEach((line, i) => parser.feed(parseLogLine(line), i + 1, i * 100));
  return parser.end();
}

describe('lockup reports', () => {
  it('parses frames, unreliable ones and gcc suffixes', () => {
    assert.deepEqual(parseFrame(' ? dmbc_map.isra.0+0x45/0x90 [dmbc]'), {
      symbol: 'dmbc_map.isra.0', function: 'dmbc_map', offset: 0x45, size: 0x90, module: 'dmbc', reliable: false,
    });
    assert.equal(parseFrame(' dmbc_map+0x45/0x90')?.module, undefined);
    assert.equal(parseFrame('Call Trace:'), undefined);
  });

  it('RCU stall: stalled CPUs from the lines after the header, NMI backtraces per CPU', () => {
    const reports = reportsOf([
      '[  60.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      '[  60.1] rcu: \t2-...0: (1 GPs behind) idle=8f4/1/0x4000000000000000 softirq=1/1 fqs=2',
      '[  60.1] \t(detected by 0, t=5252 jiffies, g=1, q=1 ncpus=4)',
      '[  60.1] Sending NMI from CPU 0 to CPUs 2:',
      '[  60.1] NMI backtrace for cpu 2',
      '[  60.1] CPU: 2 PID: 77 Comm: dmsetup Tainted: G           OE      6.1.0 #1',
      '[  60.1] RIP: 0010:demo_wait_idle+0x12/0x30 [dm_demo]',
      '[  60.1] Call Trace:',
      '[  60.1]  <TASK>',
      '[  60.1]  demo_map+0x40/0x80 [dm_demo]',
    ]);
    assert.deepEqual(reports.map((r) => [r.kind, r.cpus]), [['rcu-stall', [2]], ['nmi-backtrace', [2]]]);
    assert.deepEqual(reports[1].frames.map((f) => f.function), ['demo_wait_idle', 'demo_map']);
    assert.equal(topInstrumentedFrame(reports[1].frames, new Set(['demo_map']))?.function, 'demo_map');
  });

  it('hung task and hard lockup', () => {
    const reports = reportsOf([
      'INFO: task dmsetup:123 blocked for more than 120 seconds.',
      'Call Trace:',
      ' __schedule+0x2f0/0x950',
      ' ? demo_presuspend+0x20/0x60 [dm_demo]',
      'NMI watchdog: Watchdog detected hard LOCKUP on cpu 3',
    ]);
    assert.deepEqual(reports.map((r) => [r.kind, r.cpus, r.pid ?? null]), [['hung-task', [], 123], ['hard-lockup', [3], null]]);
    assert.equal(topInstrumentedFrame(reports[0].frames, new Set(['demo_presuspend']))?.reliable, false);
  });
});

describe('the answer and the kernel\'s hang reports', async () => {
  const { manifest } = await demo();

  it('prefers the CPU the watchdog reports stuck over a CPU that went on printing', () => {
    const events = merge(
      crumbs('kq7x', [13], 1, 20, 400),
      crumbs('kq7x', [5, 6, 9, 10, 11, 12], 0, 21, 301),
      softLockup(1, 44, 400),
    );
    for (const format of ['console', 'console-caller'] as const) {
      const answer = locateText(render(events, format), [manifest]);
      assert.equal(answer.last?.crumb.id, 13, format);
      assert.match(answer.choice ?? '', /CPU 1 was reported stuck/);
      assert.equal(answer.lockups.find((c) => c.report.kind === 'soft-lockup')?.verdict, 'agrees');
    }
  });

  it('keeps the last printed breadcrumb when its CPU is among the stuck ones', () => {
    const events = merge(crumbs('kq7x', [13], 1, 20), crumbs('kq7x', [5], 0, 21), softLockup(1, 44, 400), softLockup(0, 45, 401, 'demo_map'));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.last?.crumb.id, 5);
    assert.equal(answer.choice, undefined);
  });

  it('says when the backtrace disagrees', () => {
    const events = merge(crumbs('kq7x', [5, 6, 7, 8], 1, 20), softLockup(1, 44, 400, 'demo_dtr'));
    const answer = locateText(render(events, 'console'), [manifest]);
    assert.equal(answer.last?.crumb.id, 8);
    assert.equal(answer.lockups[0].verdict, 'disagrees');
  });

  it('with caller ids, a blocked task\'s own last breadcrumb', () => {
    const blocked: Event[] = [
      say('INFO: task dmsetup:400 blocked for more than 120 seconds.', 150, 0),
      say('Call Trace:', 150.000001, 0),
      say(' demo_presuspend+0x2b/0x60 [dm_demo]', 150.000002, 0),
    ];
    const events = merge(crumbs('kq7x', [13], 1, 20, 400), crumbs('kq7x', [5, 6, 9], 0, 30, 301), blocked);
    const answer = locateText(render(events, 'console-caller'), [manifest]);
    assert.equal(answer.last?.thread, 'T400');
    assert.equal(answer.last?.crumb.id, 13);
  });
});
