/**
 * kcrumb watch against a real writer: a child process appends to a file or sends UDP datagrams to
 * 127.0.0.1 (never any other address), on a schedule bounded to about a second.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CrumbResolver } from '../../src/locate/resolve.js';
import { LiveCrumbs, QuietClock } from '../../src/watch/live.js';
import { demo, demoTree } from '../locate/helpers.js';
import { runCli } from '../support/run-cli.js';

const tree = () => demoTree('kcrumb-watch-');

type Step = { append: string } | { truncate: true } | { send: string };

/** A writer process: each step 40 ms after the previous one, after `delay` ms; to a file or to 127.0.0.1:port. */
function writer(steps: Step[], target: { file: string } | { port: number }, delay = 150): Promise<void> {
  const script = `
    const fs = require('node:fs'); const dgram = require('node:dgram');
    const [steps, target] = JSON.parse(process.argv[1]);
    const socket = target.port ? dgram.createSocket('udp4') : undefined;
    let i = 0;
    const next = () => {
      if (i === steps.length) { if (socket) socket.close(); return; }
      const s = steps[i++];
      if (s.truncate) fs.writeFileSync(target.file, '');
      else if (s.append !== undefined) fs.appendFileSync(target.file, s.append);
      else return socket.send(s.send, target.port, '127.0.0.1', () => setTimeout(next, 40));
      setTimeout(next, 40);
    };
    setTimeout(next, ${delay});`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify([steps, target])], { stdio: 'inherit' });
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return new Promise((done) => child.on('exit', () => (clearTimeout(killer), done())));
}

const line = (t: number, text: string) => `[${t.toFixed(6).padStart(12)}] ${text}\n`;

describe('live breadcrumbs and the quiet clock', async () => {
  const { manifest } = await demo();

  it('last breadcrumb per CPU or task, across chunks cut anywhere', () => {
    const live = new LiveCrumbs(new CrumbResolver([manifest]));
    const text = line(1, 'kq7x#5@0') + line(1.1, 'kq7x#6@1') + '[    1.200000][  T302] kq7x#13@1\n' + line(1.3, 'kq9z#1@0') + line(1.4, 'kq7x#9@0');
    let found = 0;
    for (let i = 0; i < text.length; i += 7) found += live.push(text.slice(i, i + 7), i);
    assert.equal(found, 4, 'an unknown tag is not ours');
    assert.deepEqual(live.list().map((t) => [t.key, t.crumb.id, t.count]), [['CPU0', 9, 2], ['T302', 13, 1], ['CPU1', 6, 1]]);
    live.reset();
    assert.deepEqual(live.list(), []);
    assert.equal(live.total, 0);
  });

  it('fires once after silence that follows breadcrumbs, never before any', () => {
    const clock = new QuietClock(1000);
    clock.data(0, 0);
    assert.equal(clock.fire(5000), false, 'text but no breadcrumbs: nothing to answer');
    clock.data(5000, 3);
    assert.equal(clock.fire(5900), false);
    clock.data(5900, 0); // a lockup report: still arriving
    assert.equal(clock.fire(6800), false);
    assert.equal(clock.fire(6900), true);
    assert.equal(clock.fire(9000), false, 'once');
    clock.data(9000, 1);
    assert.equal(clock.fire(10000), true, 're-armed by new breadcrumbs');
  });
});

describe('kcrumb watch', { timeout: 60_000 }, async () => {
  const root = await tree();

  it('follows a file that appears and grows; quiet: the answer, the saved copy', async () => {
    const log = join(root, 'serial.log');
    const steps: Step[] = [
      { append: line(0, 'Linux version 6.1.0-18-amd64') },
      ...[5, 6, 7, 8, 13].map((id, i) => ({ append: line(1 + i / 10, `kq7x#${id}@1`) })),
      { append: line(4, 'watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [dmsetup:400]') },
    ];
    const [run] = await Promise.all([
      runCli(['watch', '--quiet-after', '0.5', '--poll', '20', '--save', 'copy.log', 'serial.log'], root),
      writer(steps, { file: log }),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^drivers\/md\/dm-demo\.c:47:\d+: note: last breadcrumb #13 \(demo_presuspend\)/);
    assert.match(run.stdout, /soft-lockup/, 'the lockup report that came after the breadcrumbs is in the answer');
    assert.match(run.stderr, /^kcrumb: CPU1 +#\d+ demo_\w+\(\) +drivers\/md\/dm-demo\.c:\d+/m, 'plain status lines when not a terminal');
    assert.match(run.stderr, /nothing arrived for 0\.5 s after breadcrumbs were flowing; the answer:/);
    assert.match(run.stderr, /raw log saved to copy\.log/);
    assert.equal(readFileSync(join(root, 'copy.log'), 'latin1'), readFileSync(log, 'latin1'));
  });

  it('a truncated capture (QEMU restarted) starts over: the answer is about the new one', async () => {
    const log = join(root, 'restart.log');
    // longer than all that follows the truncation, so a slow poll still sees the file shrink
    const boot = Array.from({ length: 40 }, (_, i) => line(0.5, `boot message ${i}`)).join('');
    writeFileSync(log, line(0, 'Linux version 6.1.0-18-amd64') + boot + line(1, 'kq7x#17@0'));
    const steps: Step[] = [
      { append: line(2, 'kq7x#18@0') },
      { truncate: true },
      { append: line(0, 'Linux version 6.1.0-18-amd64') },
      ...[5, 6, 9].map((id, i) => ({ append: line(1 + i / 10, `kq7x#${id}@0`) })),
    ];
    const [run] = await Promise.all([runCli(['watch', '-q', '0.5', '--poll', '20', '--json', 'restart.log'], root), writer(steps, { file: log })]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /restart\.log was truncated or replaced: following the new capture/);
    assert.equal(JSON.parse(run.stdout).last.id, 9);
  });

  it('receives netconsole on 127.0.0.1 and saves every datagram', async () => {
    const port = await freePort();
    const datagrams = [line(0, 'Linux version 6.1.0-18-amd64'), ...[5, 6, 9, 10].map((id, i) => `6,${100 + i},${1000000 + i},-;kq7x#${id}@0\n`)];
    const [run] = await Promise.all([
      runCli(['watch', '--udp', String(port), '-q', '0.5', '--save', 'net.log', '--json'], root),
      writer(datagrams.map((send) => ({ send })), { port }, 1000), // after the receiver is bound, even on a busy machine
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`watching udp 127\\.0\\.0\\.1:${port} \\(netconsole\\), saving to net\\.log`));
    assert.equal(readFileSync(join(root, 'net.log'), 'latin1'), datagrams.join(''));
    assert.equal(JSON.parse(run.stdout).last.id, 10);
  });

  it('--keep answers each freeze and goes on; Ctrl-C ends it', async () => {
    const log = join(root, 'keep.log');
    const steps: Step[] = [
      { append: line(0, 'Linux version 6.1.0-18-amd64') },
      { append: line(1, 'kq7x#5@0') },
      { append: line(1.1, 'kq7x#6@0') },
      ...Array.from({ length: 15 }, () => ({ append: '' })), // 600 ms of silence: the first answer
      { append: line(0, 'Linux version 6.1.0-18-amd64') },
      { append: line(1, 'kq7x#13@1') },
    ];
    const running = runCli(['watch', '--keep', '-q', '0.3', '--poll', '20', '--json', 'keep.log'], root);
    await writer(steps, { file: log });
    await new Promise((done) => setTimeout(done, 1500));
    process.emit('SIGINT');
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    const answers = run.stdout.split(/\n(?=\{)/).map((text) => JSON.parse(text));
    assert.deepEqual(answers.map((a) => a.last.id), [6, 13], 'one answer per freeze');
    assert.equal((run.stderr.match(/after breadcrumbs were flowing; the answer/g) ?? []).length, 2);
  });

  it('bad use: one-line errors, exit 2', async () => {
    for (const [args, message] of [
      [['watch'], /give a FILE or --udp PORT/],
      [['watch', 'x.log', '--udp', '6666'], /not both/],
      [['watch', '--udp', '6666', '--bind', 'localhost:1'], /--bind localhost:1: not an IP address/],
      [['watch', '--udp', '70000'], /port number/],
      [['watch', '--quiet-after', '0', 'x.log'], /seconds/],
    ] as const) {
      const run = await runCli([...args], root);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const empty = mkdtempSync(join(tmpdir(), 'kcrumb-watch-none-'));
    const none = await runCli(['watch', 'x.log'], empty);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no manifest/);
  });
});

/** A UDP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((done) => socket.bind(0, '127.0.0.1', () => {
    const { port } = socket.address();
    socket.close(() => done(port));
  }));
}
