/**
 * Benchmark: the small runs a user does all day, each a whole process as a user runs it, against its peer
 * measured in the same run. The runs are interleaved (each round runs every command once), so a busy
 * machine slows peers alike; the table gives medians and ratios.
 *   - `kcrumb --version` and `kcrumb --help` against `node -e 0` (target at most 1.2x);
 *   - `kcrumb locate-freeze` of examples/dm-remap's captured removal log (88 KB), in a copy instrumented
 *     as that run was, against `node -e 0` (target at most 1.5x);
 *   - `kcrumb instrument` (the default selection, every line, manifest, writes) of dm-verity, a 4-file
 *     dm target module of Debian's linux-source (drivers/md/dm-verity-*.c, 2,650 lines), against a process
 *     that only starts Node, loads tree-sitter-c and parses the same files (target at most 1.3x).
 *
 *   node --import tsx bench/small-runs.ts [--runs 5]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelEnv } from '../test/support/kernel-env.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const RUNS = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : '5');
const KCRUMB = join(REPO, 'bin', 'kcrumb');
const EXAMPLE = join(REPO, 'examples', 'dm-remap');
const LOG = join(EXAMPLE, 'captured', 'remove-one-remap.serial.log');
const MODULE = ['dm-verity-target.c', 'dm-verity-fec.c', 'dm-verity-verify-sig.c', 'dm-verity-loadpin.c'];

interface Case {
  label: string;
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run before each timed run, not timed: puts back what the previous run changed. */
  reset?: () => void;
}

/** Runs every case once per round, RUNS rounds; returns each case's median milliseconds. */
function timeInterleaved(cases: Case[]): number[] {
  const ms: number[][] = cases.map(() => []);
  for (let round = 0; round < RUNS; round++) {
    cases.forEach((c, i) => {
      c.reset?.();
      const start = process.hrtime.bigint();
      const run = spawnSync(c.argv[0], c.argv.slice(1), { cwd: c.cwd, env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
      ms[i].push(Number(process.hrtime.bigint() - start) / 1e6);
      if (run.status !== 0) throw new Error(`${c.label} exited ${run.status}: ${run.stderr.toString().slice(0, 500)}`);
    });
  }
  return ms.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]);
}

const src = kernelEnv().linuxSrc;
if (!src) {
  console.error('bench/small-runs: needs Debian linux-source drivers/md (scripts/kernel-env.sh)');
  process.exit(2);
}
execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' });
const work = mkdtempSync(join(tmpdir(), 'kcrumb-small-'));

// locate-freeze reads the log with the manifest of the run that printed it: instrument a copy as it was.
const example = join(work, 'dm-remap');
mkdirSync(example);
for (const name of ['dm-remap-target.c', 'dm-remap-metadata.c', 'dm-remap.h']) copyFileSync(join(EXAMPLE, name), join(example, name));
execFileSync(process.execPath, [KCRUMB, 'instrument', '--tag', 'kdem', 'dm-remap-target.c', 'dm-remap-metadata.c'], { cwd: example, stdio: 'ignore' });

const module = join(work, 'dm-verity');
const moduleSources = MODULE.map((name) => join(src, 'drivers', 'md', name));
const lines = moduleSources.reduce((n, file) => n + readFileSync(file, 'latin1').split('\n').length - 1, 0);
const freshModule = () => {
  rmSync(module, { recursive: true, force: true });
  mkdirSync(module);
  for (const file of moduleSources) copyFileSync(file, join(module, basename(file)));
};

const node = (...rest: string[]) => [process.execPath, ...rest];
const cases: Case[] = [
  { label: 'node -e 0', argv: node('-e', '0') },
  { label: 'kcrumb --version', argv: node(KCRUMB, '--version') },
  { label: 'kcrumb --help', argv: node(KCRUMB, '--help') },
  { label: `kcrumb locate-freeze ${basename(LOG)}`, argv: node(KCRUMB, 'locate-freeze', LOG), cwd: example },
  { label: 'tree-sitter-c parse only, dm-verity', argv: node(join(REPO, 'bench', 'parse-only.mjs'), module), reset: freshModule },
  { label: 'kcrumb instrument dm-verity', argv: node(KCRUMB, 'instrument', ...MODULE), cwd: module, reset: freshModule },
];
// NODE_EXTRA_CA_CERTS makes every Node process parse that certificate file at start-up, before any
// script runs: where it is set, node -e 0 is several times slower than on a plain machine, and every
// ratio to it looks better than a user without it sees. The start-up cases run both ways.
const extraCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
const plainEnv = { ...process.env };
delete plainEnv.NODE_EXTRA_CA_CERTS;
const plain = (c: Case): Case => ({ ...c, label: `${c.label} (plain)`, env: plainEnv });
const startCases = cases.slice(0, 4);
const timed = timeInterleaved(extraCerts ? [...cases, ...startCases.map(plain)] : cases);
const [bare, version, help, locate, parse, instrument] = timed;
const [plainBare, plainVersion, plainHelp, plainLocate] = timed.slice(cases.length);
rmSync(work, { recursive: true, force: true });

const logKb = Math.round(readFileSync(LOG).length / 1024);
const row = (label: string, ms: number, peer: string, peerMs: number, target: number) =>
  `| ${label} | ${ms.toFixed(0)} | ${peer} | ${(ms / peerMs).toFixed(2)}x | ${target}x | ${ms / peerMs <= target ? 'met' : 'NOT met'} |`;
/** The table's head and the start-up rows: node -e 0, then what is measured against it. */
function startUpRows(bareMs: number, versionMs: number, helpMs: number, locateMs: number): void {
  console.log('| command | ms | peer (same run) | / peer | target | |');
  console.log('| --- | ---: | --- | ---: | ---: | --- |');
  console.log(`| node -e 0 | ${bareMs.toFixed(0)} | | | | |`);
  console.log(row('kcrumb --version', versionMs, 'node -e 0', bareMs, 1.2));
  console.log(row('kcrumb --help', helpMs, 'node -e 0', bareMs, 1.2));
  console.log(row(`kcrumb locate-freeze (${logKb} KB captured log)`, locateMs, 'node -e 0', bareMs, 1.5));
}

console.log(`Small runs, whole processes, median of ${RUNS} interleaved rounds, ${process.version}`);
console.log('');
startUpRows(bare, version, help, locate);
console.log(`| tree-sitter-c parse only (dm-verity, ${MODULE.length} files, ${lines} lines) | ${parse.toFixed(0)} | | | | |`);
console.log(row('kcrumb instrument dm-verity', instrument, 'parse only', parse, 1.3));
if (extraCerts) {
  console.log('');
  console.log('NODE_EXTRA_CA_CERTS is set here; the same start-up cases without it (a plain machine), in the same rounds:');
  console.log('');
  startUpRows(plainBare, plainVersion, plainHelp, plainLocate);
}
