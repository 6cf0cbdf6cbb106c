import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { KcrumbError } from '../../errors.js';
import type { Level } from '../../manifest/schema.js';
import { SINKS, type Sink } from '../../instrument/template.js';
import type { CommandContext } from '../context.js';
import { EXIT_BAD_INPUT, EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { kvmUsable, which } from '../hunt/host.js';
import { hunt, type HuntReport } from '../hunt/hunt.js';
import { chooseKernel } from '../hunt/kernel.js';
import { MANIFEST_DIR } from '../manifest-store.js';
import { paint } from '../output.js';
import { displayPath, expandPaths } from '../source-files.js';

interface HuntFlags {
  repro: string;
  kernel?: string;
  kdir?: string;
  modules?: string;
  add: string[];
  level?: Level;
  sink: Sink;
  functions?: string;
  rounds: number;
  silence: number;
  timeout: number;
  smp: number;
  memory: number;
  accel?: 'kvm' | 'tcg';
  append: string[];
  json?: boolean;
}

/** Past this many C files the first round is --level functions: fewer breadcrumbs, less perturbation. */
const COARSE_FROM_FILES = 4;

/** What a hunt needs on the host, and the Debian package that brings it. */
const HOST_TOOLS: [string, string][] = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['busybox', 'busybox-static'],
  ['make', 'make'],
  ['modinfo', 'kmod'],
  ['ldd', 'libc-bin'],
];

/** Exit status of a hunt interrupted by Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

export function registerHunt(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Instrument the module, build it with kbuild for the chosen kernel, pack it with SCRIPT into a throwaway ' +
        'initramfs, boot it under QEMU with the serial console captured and the hang detectors tuned to report ' +
        'within seconds, inject an NMI when the console goes quiet, and name the line the kernel froze at. ' +
        'With --level functions or branches (the default from 4 files), zoom into what froze and go round again. ' +
        'The sources are stripped at the end, also on an error or Ctrl-C. Nothing on the host changes; no disk ' +
        'of yours is attached. Exit 0: a line was named; 1: no freeze, or none of our breadcrumbs printed; ' +
        '2: bad input (the module did not build or load, kernel pieces that do not match, a missing tool).',
    )
    .argument('[file...]', "C files or folders of the module (default: the working directory's Kbuild/Makefile folder)")
    .requiredOption('-r, --repro <script>', 'shell script that reproduces the freeze; runs in the guest once the module is loaded')
    .option('--kernel <image>', 'kernel image to boot (default: /boot/vmlinuz-$(uname -r))')
    .option('--kdir <dir>', 'kbuild tree to build against (default: /lib/modules/$(uname -r)/build)')
    .option('--modules <dir>', "the kernel's lib/modules/<release> folder (default: /lib/modules/$(uname -r))")
    .option('--add <path>', 'more files or folders for the guest, at the same path (repeatable)', collect, [])
    .addOption(new Option('-l, --level <level>', 'first round level (default: every-line, functions from 4 files)').choices(['every-line', 'branches', 'functions']))
    .option('-f, --functions <names>', 'functions to instrument (names and globs, comma-separated), instead of the default selection')
    .addOption(new Option('--sink <sink>', 'printk, or ring: breadcrumbs in kcrumb_ring.ko (built for the kernel and loaded first), printed by the panic').choices([...SINKS]).default('printk'))
    .option('--rounds <n>', 'at most this many boots, zooming in after each', positive('--rounds'), 3)
    .option('--silence <seconds>', 'seconds of console silence after the script started before an NMI (above the 10 to 20 s the blocked-task detector takes)', positive('--silence'), 30)
    .option('--timeout <seconds>', 'seconds a boot may take before QEMU is killed', positive('--timeout'), 180)
    .option('--smp <n>', 'guest CPUs', positive('--smp'), 2)
    .option('--memory <mb>', 'guest memory in MiB', positive('--memory'), 512)
    .addOption(new Option('--accel <accel>', 'QEMU accelerator (default: kvm when /dev/kvm is usable, else tcg)').choices(['kvm', 'tcg']))
    .option('--append <arg>', 'one more kernel argument (repeatable)', collect, [])
    .option('--json', 'print one JSON object (every round, its times and answer) instead of text')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb hunt --repro repro.sh                          # the module in this folder, the running kernel
  $ kcrumb hunt --repro repro.sh dm-remap-target.c dm-remap-metadata.c \\
      --kernel ~/k/vmlinuz-6.1.0-57-amd64 --kdir ~/k/linux-headers-6.1.0-57-amd64 --modules ~/k/lib/modules/6.1.0-57-amd64
  $ kcrumb hunt --repro repro.sh --level functions --rounds 2 --json drivers/md/dm-foo/

The script runs as the guest's only program, as root, with busybox and the programs it names (packed from
this host with their libraries); DM_DISABLE_UDEV=1 is set (the guest has no udev). Each round's files stay in
.kcrumb/hunt-<time>/round-N/: manifest, build.log, initramfs.cpio, serial.log, answer.txt and answer.json.`,
    )
    .action(async (files: string[], flags: HuntFlags) => {
      ctx.exitCode = await runHunt(ctx, files, flags);
    });
}

async function runHunt(ctx: CommandContext, given: string[], flags: HuntFlags): Promise<number> {
  const { cwd, output } = ctx;
  const script = resolve(cwd, flags.repro);
  if (!existsSync(script) || !statSync(script).isFile()) throw new KcrumbError('input', `--repro ${flags.repro}: no such file`);
  for (const [tool, pkg] of HOST_TOOLS) {
    if (!which(tool)) throw new KcrumbError('input', `${tool} is not installed`, `Debian: apt install ${pkg}`);
  }
  const { moduleDir, sources } = moduleSources(cwd, given);
  const kernel = chooseKernel(cwd, flags);
  const accel = flags.accel ?? (kvmUsable() ? 'kvm' : 'tcg');
  const level: Level = flags.level ?? (sources.length >= COARSE_FROM_FILES ? 'functions' : 'every-line');

  const dir = join(cwd, MANIFEST_DIR, `hunt-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`);
  mkdirSync(dir, { recursive: true });
  if (!flags.json) {
    output.err(`kcrumb: hunt in ${displayPath(cwd, dir)}: kernel ${kernel.release}, ${accel.toUpperCase()}, ${flags.smp} CPUs, ${sources.length} file(s) in ${relative(cwd, moduleDir) || '.'}`);
  }

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: HuntReport;
  try {
    report = await hunt(
      {
        cwd,
        files: sources.map((p) => relative(cwd, p)),
        sources,
        moduleDir,
        script,
        add: flags.add.map((p) => resolve(cwd, p)),
        kernel,
        accel,
        level,
        functions: flags.functions,
        sink: flags.sink,
        rounds: flags.rounds,
        silenceS: flags.silence,
        timeoutS: flags.timeout,
        smp: flags.smp,
        memoryMb: flags.memory,
        kernelArgs: flags.append,
        output,
        json: Boolean(flags.json),
        signal: abort.signal,
      },
      dir,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (report.status === 'interrupted' || abort.signal.aborted) {
    for (const problem of report.stripped.problems) output.err(`kcrumb: ${paint(output, 'red', 'error')}: ${problem}`);
    const sources = report.stripped.restored ? 'the sources are stripped, byte for byte as before' : 'SOME SOURCES ARE NOT AS BEFORE (above)';
    output.err(`kcrumb: interrupted; ${sources}; what ran is in ${displayPath(cwd, dir)}`);
    return EXIT_INTERRUPTED;
  }
  return finish(ctx, report, Boolean(flags.json));
}

function finish(ctx: CommandContext, report: HuntReport, json: boolean): number {
  const { cwd, output } = ctx;
  const code = report.status === 'found' ? EXIT_OK : report.status === 'load-failed' ? EXIT_BAD_INPUT : EXIT_NO;
  const answered = report.answerRound !== undefined ? report.rounds[report.answerRound - 1] : undefined;
  if (json) {
    output.out(
      JSON.stringify(
        {
          status: report.status,
          summary: report.summary,
          dir: displayPath(cwd, report.dir),
          kernel: report.kernel,
          accel: report.accel,
          answerRound: report.answerRound ?? null,
          answer: answered?.located?.answer ?? null,
          rounds: report.rounds.map((r) => ({ ...r, dir: displayPath(cwd, r.dir), manifest: displayPath(cwd, r.manifest), located: r.located ? { code: r.located.code } : null })),
          stripped: report.stripped,
          ms: report.ms,
        },
        null,
        2,
      ),
    );
  } else {
    if (answered?.located && report.status === 'found') output.out(answered.located.text);
    else if (report.status === 'load-failed') output.err(`kcrumb: error: ${report.summary}`);
    const colour = report.status === 'found' ? 'green' : 'yellow';
    output.err(`kcrumb: ${paint(output, colour, report.summary)} in ${(report.ms / 1000).toFixed(0)} s; everything is in ${displayPath(cwd, report.dir)}`);
  }
  for (const problem of report.stripped.problems) output.err(`kcrumb: ${paint(output, 'red', 'error')}: ${problem}`);
  if (!json && report.stripped.restored) output.err(`kcrumb: sources stripped: ${report.stripped.files.length} file(s) as before the hunt`);
  return report.stripped.restored ? code : EXIT_BAD_INPUT;
}

/** The module's folder (nearest with a Kbuild or Makefile) and its C files, none of kbuild's own (*.mod.c). */
function moduleSources(cwd: string, given: string[]): { moduleDir: string; sources: string[] } {
  const paths = given.length > 0 ? given : ['.'];
  const sources = expandPaths(cwd, paths)
    .map((p) => resolve(cwd, p))
    .filter((p) => !p.endsWith('.mod.c'));
  if (sources.length === 0) throw new KcrumbError('input', `no C files in ${paths.join(', ')}`);
  let dir = commonDir(sources);
  while (!existsSync(join(dir, 'Kbuild')) && !existsSync(join(dir, 'Makefile'))) {
    if (dirname(dir) === dir) throw new KcrumbError('input', `no Kbuild or Makefile in the folders holding ${given.join(', ') || cwd}`, 'name the module\'s C files, or run in its folder');
    dir = dirname(dir);
  }
  return { moduleDir: dir, sources };
}

function commonDir(paths: string[]): string {
  let dir = dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(dir + '/'))) dir = dirname(dir);
  return dir;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a whole number of at least 1`);
    return n;
  };
}
