/**
 * kcrumb hunt end to end on Debian's 6.1 kernel: a copy of examples/dm-remap and one of its repro/
 * scripts, nothing else. The answers are checked against the lines the example marks; the sources
 * against their bytes from before. The kernel pieces are passed with --kernel/--kdir/--modules (the
 * machine running the tests may run another kernel). Boots run under the QEMU lock (see PROTOCOL).
 *
 * Run: node --import tsx --test test/kernel/hunt.test.ts (after scripts/kernel-env.sh).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { findMarkers } from './example.js';
import { EXAMPLE_DIR, needQemu, type QemuEnv } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-hunt-'));
mkdirSync(WORK, { recursive: true });
const ROOT = resolve(EXAMPLE_DIR, '..', '..');

/** A fresh copy of the example, sources only; returns its folder and the bytes of its C files. */
function copyExample(name: string): { dir: string; sources: Map<string, Buffer> } {
  const dir = join(WORK, name);
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (p) => !/(\.o|\.ko|\.mod|\.mod\.c|\.cmd|Module\.symvers|modules\.order)$/.test(p) });
  return { dir, sources: sourceBytes(dir) };
}

function sourceBytes(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).filter((f) => /\.[ch]$/.test(f) && !f.endsWith('.mod.c')).map((f) => [f, readFileSync(join(dir, f))]));
}

function assertSourcesUnchanged(dir: string, before: Map<string, Buffer>): void {
  const after = sourceBytes(dir);
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [file, bytes] of before) assert.ok(after.get(file)!.equals(bytes), `${file} is byte for byte as before the hunt`);
}

const kernelFlags = (env: QemuEnv) => ['--kernel', env.vmlinuz, '--kdir', env.headers, '--modules', env.modules];

interface HuntJson {
  status: string;
  summary: string;
  answer: { last: { file: string; line: number; function: string }; root: { file: string; line: number; function: string } | null } | null;
  rounds: { level: string; phases: Record<string, number>; boot: { exitedBy: string; scriptExit?: number; nmiAtMs?: number; panic?: string } }[];
  stripped: { restored: boolean };
}

async function huntJson(t: TestContext, dir: string, args: string[]): Promise<{ code: number; json: HuntJson; stderr: string }> {
  const run = await runCli(['hunt', '--json', ...args], dir);
  const json = JSON.parse(run.stdout) as HuntJson;
  const times = json.rounds.map((r, i) => `round ${i + 1} (${r.level}): ${Object.entries(r.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  t.diagnostic(`exit ${run.code}: ${json.summary}; ${times.join('; ')}`);
  return { code: run.code, json, stderr: run.stderr };
}

describe('kcrumb hunt on Debian 6.1 under QEMU', { timeout: 15 * 60_000 }, () => {
  it('names the teardown double lock from repro/remove.sh alone, and strips the sources', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('remove');
    const { code, json } = await huntJson(t, dir, ['--repro', 'repro/remove.sh', ...kernelFlags(env)]);
    assert.equal(code, 0, json.summary);
    assert.equal(json.status, 'found');
    const [marker] = findMarkers(dir, 'hangs here');
    assert.equal(json.answer!.last.file, marker.file);
    assert.equal(json.answer!.last.line, marker.line);
    assert.equal(json.rounds[0].boot.exitedBy, 'panic');
    assert.ok(json.stripped.restored);
    assertSourcesUnchanged(dir, sources);
  });

  it('zooms from --level functions into the map hang and names its line in round 2', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('map-hang');
    const { code, json } = await huntJson(t, dir, ['--repro', 'repro/map-hang.sh', '--level', 'functions', ...kernelFlags(env)]);
    assert.equal(code, 0, json.summary);
    assert.deepEqual(json.rounds.map((r) => r.level), ['functions', 'every-line']);
    const [marker] = findMarkers(dir, 'map hangs here');
    assert.equal(`${json.answer!.last.file}:${json.answer!.last.line}`, `${marker.file}:${marker.line}`);
    assert.equal(json.answer!.last.function, 'remap_map');
    assertSourcesUnchanged(dir, sources);
  });

  it('sends an NMI when both CPUs freeze silently, and names the lock holder from what it printed', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('hang-locked');
    const { code, json } = await huntJson(t, dir, ['--repro', 'repro/hang-locked.sh', '--silence', '8', ...kernelFlags(env)]);
    assert.equal(code, 0, json.summary);
    const boot = json.rounds[0].boot;
    assert.ok(boot.nmiAtMs !== undefined, 'the NMI was sent');
    assert.equal(boot.exitedBy, 'panic');
    assert.match(boot.panic ?? '', /NMI/);
    assert.match(json.summary, /after an NMI on 8 s of console silence/, 'says the NMI ended it');
    const [holder] = findMarkers(dir, 'holds the lock here');
    assert.equal(`${json.answer!.root?.file}:${json.answer!.root?.line}`, `${holder.file}:${holder.line}`);
    assertSourcesUnchanged(dir, sources);
  });

  it('says there was no freeze, exit 1, when the script runs to its end', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('fixed');
    const { code, json } = await huntJson(t, dir, ['--repro', 'repro/fixed.sh', ...kernelFlags(env)]);
    assert.equal(code, 1);
    assert.equal(json.status, 'no-freeze');
    assert.match(json.summary, /^no freeze in \d+ s: fixed\.sh exited 0$/);
    assert.equal(json.rounds[0].boot.scriptExit, 0);
    assertSourcesUnchanged(dir, sources);
  });

  it('refuses headers of another kernel before building or booting anything', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('mismatch');
    const kdir = join(WORK, 'other-headers');
    mkdirSync(join(kdir, 'include', 'generated'), { recursive: true });
    writeFileSync(join(kdir, 'Makefile'), 'all:\n\t@false\n');
    writeFileSync(join(kdir, 'include', 'generated', 'utsrelease.h'), '#define UTS_RELEASE "6.18.44-other"\n');
    const run = await runCli(['hunt', '--repro', 'repro/remove.sh', '--kernel', env.vmlinuz, '--kdir', kdir, '--modules', env.modules], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /kcrumb: error: the kernel \S+ is 6\.1\.0-\S+ but the kbuild tree \S+ is 6\.18\.44-other: the module would not load \(vermagic\)/);
    assert.equal(run.stderr.trim().split('\n').length, 2, 'one error line and its hint');
    assert.ok(!existsSync(join(dir, '.kcrumb')), 'nothing written');
    assertSourcesUnchanged(dir, sources);
  });

  it('Ctrl-C during the boot ends the hunt with 130 and leaves the sources byte for byte as before', async (t) => {
    const env = needQemu(t);
    if (!env) return;
    const { dir, sources } = copyExample('interrupted');
    const code = `import { main } from ${JSON.stringify(join(ROOT, 'src', 'cli', 'main.ts'))}; process.exitCode = await main(process.argv.slice(1));`;
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code, 'hunt', '--repro', 'repro/remove.sh', ...kernelFlags(env)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // once packed, QEMU boots: the sources are instrumented and QEMU is running
      if (!sent && /round 1: pack:/.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 3000);
      }
    });
    const exit = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    t.diagnostic(stderr.trim().split('\n').slice(-2).join(' | '));
    assert.ok(sent, `the hunt reached the boot: ${stderr}`);
    assert.equal(exit, 130);
    assert.match(stderr, /kcrumb: interrupted; the sources are stripped/);
    assertSourcesUnchanged(dir, sources);
  });
});
