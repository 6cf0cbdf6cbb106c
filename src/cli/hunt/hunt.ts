/**
 * `kcrumb hunt`: instrument, build, pack, boot, locate; zoom and go round again. Every round's files go
 * to its own folder under .kcrumb/hunt-<time>/; the sources are stripped at the end whatever happens
 * (an error, Ctrl-C), and checked byte for byte against what they were before the hunt.
 */
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { newTag } from '../../breadcrumb.js';
import { KcrumbError } from '../../errors.js';
import { guestProgress, SCRIPT_START_MARK, type GuestProgress } from '../../hunt/guest-init.js';
import { guestKernelArgs } from '../../hunt/kernel-args.js';
import type { Level } from '../../manifest/schema.js';
import type { Sink } from '../../instrument/template.js';
import { sha256 } from '../../manifest/hash.js';
import type { Output } from '../output.js';
import { planGuest } from './guest-files.js';
import { buildModules } from './kbuild.js';
import { buildRing } from '../ring-build.js';
import { checkBuiltModule, type KernelPieces } from './kernel.js';
import { writeInitramfs } from './pack.js';
import { Phases } from './progress.js';
import { bootGuest, type BootResult } from './qemu.js';
import { kcrumb } from './subcommand.js';

export interface HuntOptions {
  cwd: string;
  /** C files as given (relative to cwd) and the folder holding their Kbuild/Makefile. */
  files: string[];
  sources: string[];
  moduleDir: string;
  script: string;
  add: string[];
  kernel: KernelPieces;
  accel: 'kvm' | 'tcg';
  level: Level;
  functions?: string;
  /** ring: breadcrumbs go to kcrumb_ring.ko, built here for the kernel and loaded before the module. */
  sink: Sink;
  rounds: number;
  silenceS: number;
  timeoutS: number;
  smp: number;
  memoryMb: number;
  kernelArgs: string[];
  output: Output;
  json: boolean;
  signal: AbortSignal;
}

export interface RoundReport {
  round: number;
  dir: string;
  level: Level;
  tag: string;
  manifest: string;
  crumbs: number;
  modules: string[];
  dependencies: string[];
  programs: string[];
  boot: BootResult & GuestProgress & { serialLog: string; scriptStartedAtMs?: number };
  /** locate-freeze's JSON answer and its exit code. */
  located?: { code: number; answer: unknown; text: string };
  phases: Record<string, number>;
}

export type HuntStatus = 'found' | 'no-freeze' | 'not-located' | 'load-failed' | 'interrupted';

export interface HuntReport {
  status: HuntStatus;
  /** The one line the hunt ends on. */
  summary: string;
  dir: string;
  kernel: KernelPieces;
  accel: string;
  rounds: RoundReport[];
  /** The round whose answer is the hunt's. */
  answerRound?: number;
  stripped: { files: string[]; restored: boolean; problems: string[] };
  ms: number;
}

export class Interrupted extends Error {}

export async function hunt(options: HuntOptions, dir: string): Promise<HuntReport> {
  const started = Date.now();
  const phases = new Phases(options.output, options.json);
  const before = new Map(options.sources.map((path) => [path, readFileSync(path)]));
  const rounds: RoundReport[] = [];
  let status: HuntStatus = 'interrupted';
  let summary = 'interrupted';
  let answerRound: number | undefined;
  let stripped: HuntReport['stripped'] = { files: [], restored: true, problems: [] };
  let finished = false;
  // the manifest of the breadcrumbs in the sources now: set as soon as a round wrote them
  const live: { manifest?: string } = {};
  try {
    let manifest: string | undefined;
    for (let round = 1; round <= options.rounds; round++) {
      let report: RoundReport;
      try {
        report = await runRound(options, dir, round, phases, manifest, rounds.at(-1), live);
      } catch (error) {
        // a zoom round that fails (its build, say) leaves the coarser answer standing, said as such
        if (options.signal.aborted) throw new Interrupted();
        if (answerRound === undefined || !(error instanceof KcrumbError)) throw error;
        summary += ` (round ${round} failed: ${error.message})`;
        break;
      }
      rounds.push(report);
      const verdict = judge(options, report);
      if (verdict.status === 'found') {
        answerRound = round;
        ({ status, summary } = verdict);
      } else if (answerRound !== undefined) {
        summary += ` (round ${round} did not reproduce it: ${verdict.summary})`;
        break;
      } else {
        ({ status, summary } = verdict);
        break;
      }
      if (report.level === 'every-line') break;
      manifest = report.manifest;
    }
    finished = true;
  } catch (error) {
    if (!(error instanceof Interrupted) && !options.signal.aborted) throw error;
    status = 'interrupted';
    summary = 'interrupted';
    finished = true;
  } finally {
    stripped = await stripSources(options, live.manifest, before);
    // on an error nobody reports the strip: say here what did not come back
    if (!finished) for (const problem of stripped.problems) options.output.err(`kcrumb: error: ${problem}`);
  }
  const report = { status, summary, dir, kernel: options.kernel, accel: options.accel, rounds, answerRound, stripped, ms: Date.now() - started };
  writeFileSync(join(dir, 'hunt.json'), JSON.stringify({ ...report, rounds: rounds.map((r) => ({ ...r, located: r.located && { code: r.located.code } })) }, null, 2) + '\n');
  return report;
}

async function runRound(
  options: HuntOptions,
  huntDir: string,
  round: number,
  phases: Phases,
  previous: string | undefined,
  last: RoundReport | undefined,
  live: { manifest?: string },
): Promise<RoundReport> {
  const dir = join(huntDir, `round-${round}`);
  mkdirSync(dir, { recursive: true });
  const name = (phase: string) => `round ${round}: ${phase}`;
  const check = () => {
    if (options.signal.aborted) throw new Interrupted();
  };
  const tag = newTag();

  // instrument (round 1) or zoom into what froze (the rounds after)
  const { manifest, level, crumbs } = await phases.run(
    name(previous ? 'zoom' : 'instrument'),
    async () => {
      const target = join(dir, `${tag}.json`);
      const argv = previous
        ? ['zoom', '--json', '--tag', tag, '--manifest', previous, last!.boot.serialLog]
        : ['instrument', '--json', '--level', options.level, '--sink', options.sink, '--tag', tag, '--manifest', target, ...(options.functions ? ['--functions', options.functions] : []), ...options.files];
      const result = await kcrumb(argv, options.cwd);
      writeFileSync(join(dir, previous ? 'zoom.txt' : 'instrument.txt'), `$ kcrumb ${argv.join(' ')}\n${result.out}\n${result.err}\n`);
      if (result.code !== 0) throw new KcrumbError('input', `kcrumb ${argv[0]} failed (exit ${result.code}): ${firstError(result.err)}`);
      if (previous) renameSync(join(dirname(previous), `${tag}.json`), target); // zoom writes beside the coarse manifest
      live.manifest = target;
      const summaryJson = JSON.parse(result.out) as { crumbs: number | unknown[] };
      const count = typeof summaryJson.crumbs === 'number' ? summaryJson.crumbs : Array.isArray(summaryJson.crumbs) ? summaryJson.crumbs.length : 0;
      return { manifest: target, level: previous ? ('every-line' as Level) : options.level, crumbs: count };
    },
    (r) => `${r.crumbs} breadcrumbs, level ${r.level}, tag ${tag}`,
  );
  check();

  const modules = await phases.run(
    name('build'),
    async () => {
      // --sink ring: the module links to kcrumb_ring_record, so kcrumb_ring.ko is built first and packed with it
      const ring = options.sink === 'ring' ? await buildRing({ kdir: options.kernel.kdir, outDir: join(dir, 'kcrumb-ring'), signal: options.signal }) : undefined;
      const makeArgs = ring ? [`KBUILD_EXTRA_SYMBOLS=${ring.symvers}`] : [];
      const kos = [...(ring ? [ring.ko] : []), ...(await buildModules(options.moduleDir, options.kernel.kdir, join(dir, 'build.log'), { signal: options.signal, makeArgs }))];
      for (const ko of kos) {
        checkBuiltModule(ko, options.kernel);
        copyFileSync(ko, join(dir, basename(ko)));
      }
      return kos;
    },
    (kos) => `built ${kos.map((ko) => basename(ko)).join(', ')}`,
  );
  check();

  const initrd = join(dir, 'initramfs.cpio');
  const plan = await phases.run(
    name('pack'),
    () => {
      const guest = planGuest({ builtModules: modules, modules: options.kernel.modules, release: options.kernel.release, script: options.script, add: options.add });
      return { ...guest, bytes: writeInitramfs(initrd, guest.entries) };
    },
    (p) =>
      `${(p.bytes / 1e6).toFixed(1)} MB initramfs` +
      (p.dependencies.length ? `, modules ${p.dependencies.join(', ')}` : '') +
      (p.programs.length ? `, ${p.programs.map((x) => basename(x)).join(', ')} from the host` : '') +
      (p.notFound.length ? `; not on this host: ${p.notFound.join(', ')}` : ''),
  );
  check();

  const serialLog = join(dir, 'serial.log');
  let scriptStartedAtMs: number | undefined;
  const bootStarted = Date.now();
  let seen = '';
  const boot = await phases.run(
    name('boot'),
    () =>
      bootGuest({
        kernel: options.kernel.image,
        initrd,
        append: guestKernelArgs(options.kernelArgs),
        serialLog,
        logBase: join(dir, 'qemu'),
        accel: options.accel,
        smp: options.smp,
        memoryMb: options.memoryMb,
        timeoutS: options.timeoutS,
        silenceS: options.silenceS,
        silenceAfter: SCRIPT_START_MARK,
        signal: options.signal,
        onSerial: (chunk) => {
          if (scriptStartedAtMs !== undefined) return;
          seen = (seen + chunk).slice(-4096);
          if (seen.includes(SCRIPT_START_MARK)) scriptStartedAtMs = Date.now() - bootStarted;
        },
      }),
    (b) => {
      const progress = guestProgress(readFileSync(serialLog, 'latin1'));
      const parts = [scriptStartedAtMs !== undefined ? `script started at ${(scriptStartedAtMs / 1000).toFixed(1)} s` : 'the script never started'];
      if (b.nmiAtMs !== undefined) parts.push(`NMI after ${options.silenceS} s of silence`);
      if (progress.scriptExit !== undefined) parts.push(`script exited ${progress.scriptExit}`);
      parts.push(b.exitedBy === 'panic' ? `kernel panic (${progress.panic ?? '?'})` : b.exitedBy === 'timeout' ? `killed after ${options.timeoutS} s` : b.exitedBy);
      return parts.join(', ');
    },
  );
  check();
  const progress = guestProgress(readFileSync(serialLog, 'latin1'));

  let located: RoundReport['located'];
  if (!progress.loadFailed) {
    located = await phases.run(
      name('locate'),
      async () => {
        const json = await kcrumb(['locate-freeze', '--json', '--manifest', manifest, serialLog], options.cwd);
        const text = await kcrumb(['locate-freeze', '--manifest', manifest, serialLog], options.cwd, options.output.color);
        const answer = json.out ? JSON.parse(json.out) : null;
        writeFileSync(join(dir, 'answer.json'), json.out + '\n');
        writeFileSync(join(dir, 'answer.txt'), [text.out, text.err].filter(Boolean).join('\n') + '\n');
        return { code: json.code, answer, text: [text.out, text.err].filter(Boolean).join('\n') };
      },
      (l) => (l.code === 0 ? 'a breadcrumb named' : 'no breadcrumb of ours in the log'),
    );
  }
  const report: RoundReport = {
    round,
    dir,
    level,
    tag,
    manifest,
    crumbs,
    modules: modules.map((ko) => relative(options.cwd, ko) || ko),
    dependencies: plan.dependencies,
    programs: plan.programs,
    boot: { ...boot, serialLog, scriptStartedAtMs, ...progress },
    located,
    phases: Object.fromEntries(Object.entries(phases.times).filter(([k]) => k.startsWith(`round ${round}:`)).map(([k, v]) => [k.replace(/^round \d+: /, ''), v])),
  };
  writeFileSync(join(dir, 'round.json'), JSON.stringify({ ...report, located: report.located && { code: report.located.code } }, null, 2) + '\n');
  return report;
}

/** What a round's run amounts to. */
function judge(options: HuntOptions, r: RoundReport): { status: HuntStatus; summary: string } {
  const script = basename(options.script);
  const seconds = (((r.boot.ms ?? 0) - (r.boot.scriptStartedAtMs ?? 0)) / 1000).toFixed(0);
  if (r.boot.loadFailed) {
    return { status: 'load-failed', summary: `${r.boot.loadFailed.module} did not load: ${r.boot.loadFailed.messages.join(' / ') || 'see the serial log'}` };
  }
  const answer = r.located?.answer as { reports?: unknown[]; lockups?: unknown[] } | null | undefined;
  const kernelSaid = (answer?.reports?.length ?? 0) > 0 || (answer?.lockups?.length ?? 0) > 0;
  const died = r.boot.exitedBy === 'panic' || r.boot.exitedBy === 'timeout' || r.boot.nmiAtMs !== undefined || kernelSaid;
  if (!r.boot.scriptStarted && !died) return { status: 'not-located', summary: `the guest ended (${r.boot.exitedBy}) before ${script} started: see ${relative(options.cwd, r.boot.serialLog)}` };
  if (r.boot.scriptExit !== undefined && !died) return { status: 'no-freeze', summary: `no freeze in ${seconds} s: ${script} exited ${r.boot.scriptExit}` };
  if (r.located?.code === 0) {
    // our NMI alone ended it: a script that is quiet that long on purpose looks the same
    const byNmiOnly = r.boot.nmiAtMs !== undefined && !kernelSaidBeforeNmi(answer);
    const caveat = byNmiOnly ? ` after an NMI on ${options.silenceS} s of console silence (a script quiet that long on purpose looks the same: raise --silence)` : '';
    return { status: 'found', summary: `round ${r.round} (${r.level}) named the line${caveat}` };
  }
  const how = r.boot.exitedBy === 'panic' ? `the kernel panicked (${r.boot.panic ?? '?'})` : r.boot.exitedBy === 'timeout' ? `it froze (killed after ${options.timeoutS} s)` : `it ended (${r.boot.exitedBy})`;
  return { status: 'not-located', summary: `${how}, but no breadcrumb of ours printed: the freeze is outside the instrumented functions` };
}

/** Whether the kernel reported a lockup or stall of its own (not only the backtraces our NMI caused). */
function kernelSaidBeforeNmi(answer: { lockups?: unknown[] } | null | undefined): boolean {
  const lockups = (answer?.lockups ?? []) as { kind?: string }[];
  return lockups.some((l) => l.kind !== undefined && l.kind !== 'nmi-backtrace');
}

/** Strips every file a round instrumented, then checks each against its bytes from before the hunt. */
async function stripSources(options: HuntOptions, manifest: string | undefined, before: Map<string, Buffer>): Promise<HuntReport['stripped']> {
  const problems: string[] = [];
  const files = [...before.keys()];
  const dirty = files.filter((path) => !readFileSync(path).equals(before.get(path)!));
  if (dirty.length > 0) {
    const argv = ['strip', ...(manifest ? ['--manifest', manifest] : []), ...dirty];
    const result = await kcrumb(argv, options.cwd);
    if (result.code !== 0) problems.push(`kcrumb strip exited ${result.code}: ${firstError(result.err)}`);
  }
  for (const path of files) {
    if (!readFileSync(path).equals(before.get(path)!)) problems.push(`${relative(options.cwd, path)} differs from before the hunt (sha256 ${sha256(readFileSync(path, 'latin1')).slice(0, 12)})`);
  }
  return { files: files.map((p) => relative(options.cwd, p)), restored: problems.length === 0, problems };
}

function firstError(err: string): string {
  return err.split('\n').find((l) => l.includes('error')) ?? err.split('\n')[0] ?? '';
}
