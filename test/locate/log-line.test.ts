import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogLine } from '../../src/log/log-line.js';

/** Real-shaped lines from docs/kernel-logs.md: [raw, text, fields]. */
const CASES: [string, string, Record<string, unknown>][] = [
  ['[  123.456789] kq7x#87@1', 'kq7x#87@1', { time: 123.456789 }],
  ['kq7x#87@1', 'kq7x#87@1', {}],
  ['[  216.317316][ T7652] device-mapper: kq7x#87@1', 'device-mapper: kq7x#87@1', { time: 216.317316, caller: 'T7652' }],
  ['[    0.000000][    C1] msg', 'msg', { time: 0, caller: 'C1' }],
  ['CCCCCCCC** 1196 printk messages dropped **', 'CCCCCCCC** 1196 printk messages dropped **', {}],
  ['\xff\xfe[   12.000001] kq7x#2@0\r', 'kq7x#2@0', { time: 12.000001 }],
  ['\x00\x00[   12.000001] a\x00b', 'ab', { time: 12.000001 }],
  ['\x1b[0m[   12.000001] \x1b[1mbold\x1b[0m', 'bold', { time: 12.000001 }],
  ['[  123.456789,caller=T123@C1] msg', 'msg', { time: 123.456789, caller: 'T123' }],
  ['[  123.456789] [1:    kworker/1:1:  123] msg', 'msg', { time: 123.456789, caller: 'T123' }],
  ['<2>[  123.456789] msg', 'msg', { level: 2, time: 123.456789 }],
  ['2,1234,5140900,-;msg', 'msg', { level: 2, seq: 1234, time: 5.1409 }],
  ['2,1234,5140900,-,caller=T123;msg', 'msg', { caller: 'T123', seq: 1234, time: 5.1409 }],
  ['6,416,1758426,-,ncfrag=0/31;first chunk', 'first chunk', { level: 6, seq: 416, time: 1.758426 }],
  ['6.4.0,6,444,501151268,-;msg', 'msg', { seq: 444, time: 501.151268 }],
  ['12,3,100,-;user message', 'user message', { level: 4, time: 0.0001 }],
  [' SUBSYSTEM=acpi', ' SUBSYSTEM=acpi', {}],
  ['kern  :crit  : [  123.456789] msg', 'msg', { level: 2, time: 123.456789 }],
  ['[Tue Mar  5 10:23:45 2024] msg', 'msg', {}],
  ['2024-03-05T10:23:45,123456+01:00 msg', 'msg', {}],
  ['[  123.456789 <    0.000123>] msg', 'msg', { time: 123.456789 }],
  ['[Mar 5 10:23] msg', 'msg', {}],
  ['[  +0.000123] msg', 'msg', {}],
  ['Mar 05 10:23:45 host kernel: msg', 'msg', {}],
  ['[  123.456789] host kernel: msg', 'msg', { time: 123.456789 }],
  ['Mar 05 10:23:45.123456 host kernel: msg', 'msg', {}],
  ['2024-03-05T10:23:45+0100 host kernel: msg', 'msg', {}],
  ['1709630625.123456 host kernel: msg', 'msg', {}],
  ['Panic#1 Part1', 'Panic#1 Part1', {}],
];

describe('parseLogLine peels every known prefix', () => {
  for (const [raw, text, fields] of CASES) {
    it(JSON.stringify(raw), () => {
      const line = parseLogLine(raw);
      assert.equal(line.text, text);
      for (const [key, value] of Object.entries(fields)) {
        const actual = line[key as keyof typeof line];
        if (key === 'time') assert.ok(Math.abs((actual as number) - (value as number)) < 1e-9, `time ${actual}`);
        else assert.equal(actual, value, key);
      }
      if (!('time' in fields)) assert.equal(line.time, undefined, 'no boot clock in this format');
    });
  }

  it('marks boot starts', () => {
    assert.equal(parseLogLine('[    0.000000] Linux version 6.1.0-18-amd64 (gcc)').bootMarker, true);
    assert.equal(parseLogLine('0,0,0,-;Linux version 6.1.0').bootMarker, true);
    assert.equal(parseLogLine('-- Boot 0b3bd3e5a6d54c0f8e5b0a3d5e1f2a3b --').bootMarker, true);
    assert.equal(parseLogLine('[   5.0] modprobe: Linux version string').bootMarker, false);
  });

  it('stays cheap and safe on a 10 MB line', () => {
    const start = Date.now();
    const line = parseLogLine(`[1:${' '.repeat(10_000_000)}`);
    assert.ok(line.text.length > 0);
    assert.ok(Date.now() - start < 2000);
  });
});
