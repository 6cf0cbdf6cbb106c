/**
 * --ko: frames of a module resolved with binutils, on a relocatable object gcc builds here (a .ko is one):
 * a caller frame's return address minus one lands on its call, the inlined function there is listed, and
 * a module without debug info is a note, not an error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAddr2line, parseSymbolTable } from '../../src/reports/symbolize.js';
import { runCli } from '../support/run-cli.js';

const SOURCE = `#include <string.h>
struct meta { char *page; int n; };
static inline void clear_copy(struct meta *m, int n)
{
	memset(m->page, 0, n);
}
void write_metadata_copy(struct meta *m)
{
	m->n++;
	clear_copy(m, 8192);
	m->n--;
}
`;

/** Builds dm_demo.ko from SOURCE; returns its folder and the return address after its call to memset. */
function build(debug: boolean): { dir: string; after: number; size: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kcrumb-ko-'));
  writeFileSync(join(dir, 'dm_demo.c'), SOURCE);
  execFileSync('gcc', [...(debug ? ['-g'] : []), '-O2', '-fno-builtin', '-c', 'dm_demo.c', '-o', 'dm-demo.ko'], { cwd: dir });
  const table = execFileSync('objdump', ['-t', 'dm-demo.ko'], { cwd: dir, encoding: 'latin1' });
  const symbols = parseSymbolTable(table);
  const fn = symbols.get('write_metadata_copy')!;
  const disasm = execFileSync('objdump', ['-d', '-j', fn.section, 'dm-demo.ko'], { cwd: dir, encoding: 'latin1' });
  const call = /^\s*([0-9a-f]+):\s+e8 (?:[0-9a-f]{2} ){4}/m.exec(disasm)!;
  const size = parseInt(/^[0-9a-f]+ .{6}F \S+\s+([0-9a-f]+) write_metadata_copy$/m.exec(table)![1], 16);
  return { dir, after: parseInt(call[1], 16) + 5 - fn.value, size };
}

function log(after: number, size: number): string {
  return [
    '[   61.201113] BUG: unable to handle page fault for address: ffff9a4bc3a3e000',
    '[   61.202406] Oops: 0002 [#1] PREEMPT SMP NOPTI',
    '[   61.202634] CPU: 0 PID: 79 Comm: kworker/u4:3 Tainted: G           OE      6.1.0-18-amd64 #1',
    '[   61.204040] RIP: 0010:memset+0x24/0x30',
    '[   61.205957] Call Trace:',
    `[   61.207299]  write_metadata_copy+0x${after.toString(16)}/0x${size.toString(16)} [dm_demo]`,
    '[   61.207825]  process_one_work+0x1c4/0x380',
  ].join('\n') + '\n';
}

describe('--ko: report frames to source lines', () => {
  it('a caller frame: return address minus one, the inlined callee named', async () => {
    const { dir, after, size } = build(true);
    writeFileSync(join(dir, 'serial.log'), log(after, size));
    const run = await runCli(['locate-freeze', '--json', '--ko', 'dm-demo.ko', 'serial.log'], dir);
    assert.equal(run.code, 1, run.stderr);
    const guilty = (JSON.parse(run.stdout) as { reports: { guilty: { function: string; file: string; line: number; inlinedCalls: { function: string; line: number }[] } }[] }).reports[0].guilty;
    assert.equal(guilty.function, 'write_metadata_copy');
    assert.match(guilty.file, /dm_demo\.c$/);
    assert.equal(guilty.line, 10, 'the line of the call, not the one after it');
    assert.deepEqual(guilty.inlinedCalls.map((c) => [c.function, c.line]), [['clear_copy', 5]]);
  });

  it('a module without debug info: a note, the answer still given', async () => {
    const { dir, after, size } = build(false);
    writeFileSync(join(dir, 'serial.log'), log(after, size));
    const run = await runCli(['locate-freeze', '--ko', dir, 'serial.log'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /has no line information for its frames: build it with debug info/);
    assert.match(run.stderr, /BUG: unable to handle kernel paging request in write_metadata_copy/);
  });

  it('reads addr2line -a -f -i chains, innermost first, and drops ?? places', () => {
    const chains = parseAddr2line('0x0000000000000016\nclear_copy\n/src/x.c:5\nwrite_metadata_copy\n/src/x.c:10\n0x0000000000000040\n??\n??:0\n');
    assert.deepEqual(chains, [[{ function: 'clear_copy', file: '/src/x.c', line: 5 }, { function: 'write_metadata_copy', file: '/src/x.c', line: 10 }], []]);
  });
});
