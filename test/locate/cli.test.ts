import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerLocateFreeze } from '../../src/cli/commands/locate-freeze.js';
import type { CommandContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { demoTree, freezeScenario, render } from './helpers.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { output: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), status: () => {}, color: false, interactive: false }, out, err };
}

async function kcrumb(cwd: string, ...args: string[]): Promise<Run> {
  const { output, out, err } = capture();
  const code = await main(['locate-freeze', ...args], output, cwd);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function kcrumbStdin(cwd: string, input: string, ...args: string[]): Promise<Run> {
  const { output, out, err } = capture();
  const ctx: CommandContext = { output, cwd, stdin: Readable.from([Buffer.from(input, 'latin1')]), exitCode: 0 };
  const program = new Command('kcrumb').exitOverride();
  registerLocateFreeze(program.command('locate-freeze'), ctx);
  await program.parseAsync(['locate-freeze', ...args], { from: 'user' });
  return { code: ctx.exitCode, out: out.join('\n'), err: err.join('\n') };
}

/** A kernel tree with the instrumented fixture, its manifest in .kcrumb/, and a serial log of a freeze. */
async function tree(): Promise<string> {
  const root = await demoTree('kcrumb-cli-');
  writeFileSync(join(root, 'serial.log'), render(freezeScenario(), 'console-crlf-noise'), 'latin1');
  return root;
}

const FIRST_LINE =
  'drivers/md/dm-demo.c:47:9: note: last breadcrumb #13 (demo_presuspend): the freeze is at or after this statement (the kernel reported BUG: soft lockup in demo_presuspend)';

describe('kcrumb locate-freeze', async () => {
  const root = await tree();

  it('prints the gcc-form line, the source around it, what could come next and the trails', async () => {
    const run = await kcrumb(root, 'serial.log');
    assert.equal(run.code, 0, run.err);
    const lines = run.out.split('\n');
    assert.equal(lines[0], FIRST_LINE);
    assert.match(run.out, /^> 47 \| \tspin_lock_irq\(&dc->lock\);$/m);
    assert.doesNotMatch(run.out, /printk\(KERN_CRIT/);
    assert.match(run.out, /^drivers\/md\/dm-demo\.c:48:9: note: #14 \(demo_presuspend, statement\): dc->flags = 0;$/m);
    assert.match(run.out, /CPU1: 14 breadcrumb\(s\), last #13 demo_presuspend\(\)  <- last breadcrumb/);
    assert.match(run.out, /soft-lockup .*top instrumented frame demo_presuspend\+0x2b\/0x60 \[dm_demo\]: agrees/s);
    assert.match(run.err, /lost \d+ message/); // the noisy capture has dropped-message markers
  });

  it('--json: one object with status, last, threads, next, boot, warnings', async () => {
    const run = await kcrumb(root, '--json', '--trail', '3', 'serial.log');
    assert.equal(run.code, 0);
    const json = JSON.parse(run.out);
    assert.equal(json.status, 'found');
    assert.deepEqual(
      { id: json.last.id, file: json.last.file, line: json.last.line, column: json.last.column, function: json.last.function, cpu: json.last.cpu },
      { id: 13, file: 'drivers/md/dm-demo.c', line: 47, column: 9, function: 'demo_presuspend', cpu: 1 },
    );
    assert.equal(json.last.statement, 'spin_lock_irq(&dc->lock);');
    assert.match(json.last.logLine, /kq7x#13@1/);
    assert.deepEqual(json.threads.map((t: { key: string }) => t.key), ['CPU1', 'CPU0']);
    assert.deepEqual(json.threads[0].trail.map((s: { id: number }) => s.id), [10, 11, 12]);
    assert.deepEqual(json.next.map((n: { id: number }) => n.id), [14]);
    assert.equal(json.boot.number, 1);
    assert.ok(Array.isArray(json.warnings));
  });

  it('--lcov writes the lines whose breadcrumbs printed', async () => {
    const run = await kcrumb(root, '--lcov', 'freeze.info', 'serial.log');
    assert.equal(run.code, 0);
    const lcov = readFileSync(join(root, 'freeze.info'), 'utf8');
    assert.match(lcov, new RegExp(`^SF:${join(root, 'drivers/md/dm-demo.c')}$`, 'm'));
    assert.match(lcov, /^DA:47,1$/m);
    assert.match(lcov, /^DA:48,0$/m);
    assert.match(lcov, /^DA:31,2$/m);
    assert.match(lcov, /^FNDA:0,demo_dtr$/m);
    assert.match(lcov, /end_of_record\n$/);
  });

  it('reads stdin with -', async () => {
    const run = await kcrumbStdin(root, render(freezeScenario(), 'journal'), '-');
    assert.equal(run.code, 0);
    assert.equal(run.out.split('\n')[0], FIRST_LINE);
  });

  it('--annotate passes the log through with file:line on breadcrumb lines', async () => {
    const run = await kcrumb(root, '--annotate', 'serial.log');
    assert.equal(run.code, 0);
    assert.match(run.out, /kq7x#13@1  <- drivers\/md\/dm-demo\.c:47:9 demo_presuspend$/m);
    assert.match(run.out, /Linux version 6\.1\.0/);
  });

  it('exit 2 for bad input', async () => {
    assert.equal((await kcrumb(root, 'missing.log')).code, 2);
    writeFileSync(join(root, 'empty.log'), '');
    assert.match((await kcrumb(root, 'empty.log')).err, /is empty/);
    writeFileSync(join(root, 'binary.log'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256).filter((b) => b < 0x20 || b > 0x7e)));
    const binary = await kcrumb(root, 'binary.log');
    assert.equal(binary.code, 2);
    assert.match(binary.err, /no text lines/);
    assert.equal((await kcrumb(root, '--manifest', 'nope.json', 'serial.log')).code, 2);
    const bare = mkdtempSync(join(tmpdir(), 'kcrumb-bare-'));
    writeFileSync(join(bare, 'serial.log'), 'kq7x#1@0\n');
    assert.equal((await kcrumb(bare, 'serial.log')).code, 2);
  });
});
