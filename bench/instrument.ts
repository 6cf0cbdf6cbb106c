/**
 * Benchmark: `kcrumb instrument --functions '*' --level every-line` on every .c file of a kernel folder
 * (default drivers/md of Debian's linux-source-6.1), against, in the same run and on the same files:
 *   - Coccinelle (spatch, Debian's package coccinelle) applying a simpler rule, one pr_crit() at the start
 *     of every function (bench/add-pr-crit.cocci), with --in-place on its own copy: on every core
 *     (--jobs, as kcrumb runs) and as one job (spatch's default);
 *   - the floor: a parse-only pass of tree-sitter-c over the same files (bench/parse-only.mjs).
 * Each is a whole process, as a user runs it, timed over several runs on a fresh copy; the table gives
 * medians and the ratios (the machine is shared and noisy: the ratios are the result).
 *
 *   node --import tsx bench/instrument.ts [--dir drivers/md] [--runs 5] [--no-spatch]
 *
 * A folder that is not in the cache yet is fetched first (scripts/kernel-env.sh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelEnv } from '../test/support/kernel-env.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const RUNS = Number(option('--runs', '5'));
const SUBDIR = option('--dir', 'drivers/md');

let src = kernelEnv().linuxSrc;
if (!src || !existsSync(join(src, SUBDIR))) {
  // kernel-env.sh extracts the folder beside those already in the cache.
  const fetch = spawnSync(join(REPO, 'scripts', 'kernel-env.sh'), { env: { ...process.env, KCRUMB_SRC_PATHS: SUBDIR }, stdio: ['ignore', 'ignore', 'inherit'] });
  src = kernelEnv().linuxSrc;
  if (fetch.status !== 0 && !src) {
    console.error('bench/instrument: needs Debian linux-source (scripts/kernel-env.sh could not fetch it)');
    process.exit(2);
  }
}
const folder = join(src!, SUBDIR);
if (!existsSync(folder)) {
  console.error(`bench/instrument: linux-source has no ${SUBDIR}`);
  process.exit(2);
}
const hasSpatch = !args.includes('--no-spatch') && spawnSync('spatch', ['--version']).status === 0;

function cFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? cFiles(full) : name.endsWith('.c') ? [full] : [];
  });
}

/** Runs `command` RUNS times on a fresh copy of the folder each time; returns the median seconds. */
function time(label: string, command: (copy: string) => [string, string[]]): number {
  const seconds: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const work = mkdtempSync(join(tmpdir(), 'kcrumb-bench-'));
    const copy = join(work, 'tree');
    cpSync(folder, copy, { recursive: true });
    const [file, argv] = command(copy);
    const start = process.hrtime.bigint();
    const result = spawnSync(file, argv, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    rmSync(work, { recursive: true, force: true });
    if (result.status !== 0) throw new Error(`${label} failed: ${result.stderr.toString().slice(0, 500)}`);
    seconds.push(elapsed);
  }
  seconds.sort((a, b) => a - b);
  return seconds[Math.floor(seconds.length / 2)];
}

execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' });
const files = cFiles(folder);
const kcrumb = time('kcrumb', (copy) => [process.execPath, [join(REPO, 'bin', 'kcrumb'), 'instrument', '--functions', '*', '--level', 'every-line', copy]]);
const parse = time('parse-only', (copy) => [process.execPath, [join(REPO, 'bench', 'parse-only.mjs'), copy]]);
// The same parse split over one process per core: how far this machine's cores scale at all.
const parts = cpus().length;
const parseAllCores = time('parse-only', (copy) => [
  'sh',
  ['-c', `for k in $(seq 0 ${parts - 1}); do "${process.execPath}" "${join(REPO, 'bench', 'parse-only.mjs')}" "${copy}" $k ${parts} & pids="$pids $!"; done; for p in $pids; do wait $p || exit 1; done`],
]);
const spatchArgs = (copy: string) => ['--very-quiet', '--no-show-diff', '--in-place', '--sp-file', join(REPO, 'bench', 'add-pr-crit.cocci'), '--dir', copy];
const spatch = hasSpatch ? time('spatch', (copy) => ['spatch', ['--jobs', String(cpus().length), ...spatchArgs(copy)]]) : undefined;
const spatchOneJob = hasSpatch ? time('spatch', (copy) => ['spatch', spatchArgs(copy)]) : undefined;

const row = (name: string, s: number | undefined, note: string) =>
  `| ${name} | ${s === undefined ? 'not installed' : s.toFixed(2)} | ${s === undefined ? '' : (s / kcrumb).toFixed(2)} | ${note} |`;
console.log(`Instrument ${SUBDIR} of linux-source (${files.length} .c files), median of ${RUNS} runs, ${cpus().length} cores, ${process.version}`);
console.log('');
console.log('| tool | seconds | time / kcrumb | what it does |');
console.log('| --- | ---: | ---: | --- |');
console.log(row('kcrumb instrument', kcrumb, 'every function, every line, manifest, atomic writes'));
console.log(row('tree-sitter-c parse only', parse, 'the floor: read and parse, nothing else'));
console.log(row(`tree-sitter-c parse only, ${parts} processes`, parseAllCores, `the same, each process on 1/${parts} of the files`));
console.log(row(`Coccinelle spatch --jobs ${cpus().length}`, spatch, 'one pr_crit() at the start of every function'));
console.log(row('Coccinelle spatch (one job)', spatchOneJob, 'the same, spatch\'s default'));
console.log('');
console.log(`kcrumb / parse-only floor: ${(kcrumb / parse).toFixed(2)}x (target at most 1.5x)`);
console.log(`the parse split over ${parts} processes: ${(parseAllCores / parse).toFixed(2)}x the time of one process (how far the cores scale)`);
if (spatch !== undefined && spatchOneJob !== undefined) {
  console.log(`Coccinelle / kcrumb: ${(spatch / kcrumb).toFixed(1)}x with --jobs ${cpus().length}, ${(spatchOneJob / kcrumb).toFixed(1)}x as one job (target at least 20x)`);
  console.log(`Coccinelle / parse-only floor: ${(spatch / parse).toFixed(1)}x with --jobs ${cpus().length}, ${(spatchOneJob / parse).toFixed(1)}x as one job`);
}
