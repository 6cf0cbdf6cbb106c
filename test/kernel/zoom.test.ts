/**
 * Coarse first, then fine, on a real kernel: instrument examples/dm-remap at --level functions, boot the
 * teardown freeze, `kcrumb zoom` the log, rebuild, boot again, and locate-freeze must name the line the
 * example marks `kcrumb-test: hangs here`. Each boot is bounded (QEMU killed after 120 s).
 *
 * The logs stay in the folder printed as a diagnostic ($KCRUMB_KERNEL_LOGS to choose it).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/run-cli.js';
import { findMarkers, instrumentCopy, prepareModule } from './example.js';
import { buildModule, EXAMPLE_DIR, needQemu, runScenario } from './qemu.js';

const WORK = process.env.KCRUMB_KERNEL_LOGS ?? mkdtempSync(join(tmpdir(), 'kcrumb-zoom-'));
mkdirSync(WORK, { recursive: true });

describe('kcrumb zoom on examples/dm-remap under QEMU', { timeout: 15 * 60_000 }, () => {
  it('functions level, zoom, every line in the function that froze: locate-freeze names the marked line', async (t) => {
    if (!needQemu(t)) return;
    const [marker] = findMarkers(EXAMPLE_DIR, 'hangs here');
    const base = join(WORK, 'zoom');
    const started = Date.now();
    const module = await prepareModule(WORK, 'zoom', instrumentCopy(['--level', 'functions', '--tag', 'kzfn']));

    const coarse = await runScenario({ moduleDir: module.dir, logDir: base, name: 'coarse', scenario: 'remove', remaps: [1000], timeoutS: 120 });
    t.diagnostic(`coarse boot: ${coarse.exitedBy} after ${(coarse.ms / 1000).toFixed(1)} s; ${coarse.serialLogPath}`);
    assert.equal(coarse.exitedBy, 'panic', 'the functions-level module froze too');
    const coarseAnswer = JSON.parse((await runCli(['locate-freeze', '--json', coarse.serialLogPath], module.dir)).stdout);
    assert.equal(coarseAnswer.last.function, 'remap_entry_flush', 'the coarse run names the function');
    assert.notEqual(coarseAnswer.last.line, marker.line, 'and not yet the line (else the test proves nothing)');

    const zoom = await runCli(['zoom', '--tag', 'kzel', coarse.serialLogPath], module.dir);
    t.diagnostic(zoom.stdout.trim());
    assert.equal(zoom.code, 0, zoom.stderr);
    assert.match(zoom.stdout, /remap_entry_flush/);
    const manifest = JSON.parse(readFileSync(join(module.dir, '.kcrumb', 'kzel.json'), 'utf8'));
    assert.equal(manifest.level, 'every-line');
    assert.ok(manifest.functions.some((fn: { name: string }) => fn.name === 'remap_entry_flush'));
    assert.ok(manifest.functions.length <= 3, `only the function(s) of the freeze: ${manifest.functions.map((fn: { name: string }) => fn.name)}`);
    for (const file of readdirSync(module.dir).filter((f) => f.endsWith('.c'))) {
      assert.doesNotMatch(readFileSync(join(module.dir, file), 'latin1'), /"kzfn#/, `${file}: the coarse breadcrumbs are gone`);
    }

    await buildModule(module.dir, base);
    const fine = await runScenario({ moduleDir: module.dir, logDir: base, name: 'zoomed', scenario: 'remove', remaps: [1000], timeoutS: 120 });
    t.diagnostic(`zoomed boot: ${fine.exitedBy} after ${(fine.ms / 1000).toFixed(1)} s; ${fine.serialLogPath}`);
    assert.equal(fine.exitedBy, 'panic');
    const located = await runCli(['locate-freeze', '--json', fine.serialLogPath], module.dir);
    assert.equal(located.code, 0, located.stderr);
    const answer = JSON.parse(located.stdout);
    assert.equal(answer.last.tag, 'kzel', 'the answer comes from the zoomed run');
    assert.equal(`${answer.last.file}:${answer.last.line}`, `${marker.file}:${marker.line}`, 'the line that froze');
    t.diagnostic(`whole cycle (2 builds, 2 boots, zoom): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
