/**
 * Titles of kernel reports against a corpus of real console logs whose expected titles are known: files
 * that start with header lines (`TITLE: <expected>`, `CORRUPTED: Y`, `# comments`, ... as in syzkaller's
 * pkg/report/testdata/linux/report/*, fetched separately: this script ships no corpus), then a blank line,
 * then the log (up to a `REPORT:` section, which is syzkaller's expected report text, not log). Files
 * without a TITLE hold no report: none may be found in them.
 *   node --import tsx bench/report-titles.ts DIR [--cli] [--verbose] [--markdown]
 * In-process it measures the report parser alone; --cli runs the real `kcrumb locate-freeze --json` on
 * every log and measures what a user gets (`reports[0].title`), and that every answer is valid JSON.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseLogLine } from '../src/log/log-line.js';
import { ReportParser } from '../src/reports/parse.js';

interface Case {
  name: string;
  title?: string;
  corrupted: boolean;
  log: string;
}

const HEADER_LINE = /^(?:#.*|[A-Z_]+: ?.*)$/;

/** Header lines, a blank line, the log; `REPORT:` starts syzkaller's expected report, not log. */
export function parseCase(name: string, text: string): Case {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i] !== '' && HEADER_LINE.test(lines[i])) i++;
  const head = lines.slice(0, i);
  const headed = i < lines.length && lines[i] === '' && head.some((l) => !l.startsWith('#'));
  const body = (headed ? lines.slice(i + 1) : lines).join('\n');
  const cut = body.search(/^REPORT:$/m);
  const field = (key: string) => head.find((l) => l.startsWith(`${key}: `))?.slice(key.length + 2).trim();
  return { name, title: headed ? field('TITLE') : undefined, corrupted: field('CORRUPTED') === 'Y', log: cut === -1 ? body : body.slice(0, cut) };
}

function parserTitle(log: string): string | undefined {
  const parser = new ReportParser();
  log.split('\n').forEach((line, i) => parser.feed(parseLogLine(line), i + 1, 0));
  return parser.end().find((r) => r.kind !== 'nmi-backtrace')?.title;
}

const run = promisify(execFile);

/** The real CLI's answer: its first report's title, and whether stdout was one valid JSON document. */
async function cliTitle(kcrumb: string, file: string): Promise<{ title?: string; valid: boolean }> {
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [kcrumb, 'locate-freeze', '--json', file], { maxBuffer: 64 << 20 }));
  } catch (err) {
    // exit code 1 is "none of ours": the answer is still on stdout
    stdout = (err as { stdout?: string }).stdout ?? '';
  }
  try {
    const answer = JSON.parse(stdout) as { reports?: { title?: string }[] };
    return { title: answer.reports?.[0]?.title, valid: true };
  } catch {
    return { valid: false };
  }
}

interface Tally {
  titled: number;
  right: number;
  cleanTitled: number;
  cleanRight: number;
  without: number;
  invented: number;
  valid: number;
  misses: string[];
}

function tally(cases: Case[], got: (string | undefined)[]): Tally {
  const t: Tally = { titled: 0, right: 0, cleanTitled: 0, cleanRight: 0, without: 0, invented: 0, valid: 0, misses: [] };
  cases.forEach((c, i) => {
    if (c.title) {
      t.titled++;
      if (!c.corrupted) t.cleanTitled++;
      if (got[i] === c.title) {
        t.right++;
        if (!c.corrupted) t.cleanRight++;
      } else t.misses.push(`${c.name}${c.corrupted ? ' (corrupted)' : ''}: want ${JSON.stringify(c.title)} got ${JSON.stringify(got[i] ?? null)}`);
    } else {
      t.without++;
      if (got[i] !== undefined) {
        t.invented++;
        t.misses.push(`${c.name}: want none, got ${JSON.stringify(got[i])}`);
      }
    }
  });
  return t;
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  if (!dir) {
    console.error('usage: report-titles.ts DIR [--cli] [--verbose] [--markdown]');
    process.exit(2);
  }
  const cases = readdirSync(dir)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => parseCase(name, readFileSync(join(dir, name), 'latin1')));
  const inProcess = tally(cases, cases.map((c) => parserTitle(c.log)));
  let cli: Tally | undefined;
  if (args.includes('--cli')) {
    const kcrumb = join(import.meta.dirname, '..', 'bin', 'kcrumb');
    const tmp = mkdtempSync(join(tmpdir(), 'kcrumb-titles-'));
    const answers: { title?: string; valid: boolean }[] = [];
    try {
      for (const c of cases) {
        const file = join(tmp, c.name);
        writeFileSync(file, c.log, 'latin1');
        answers.push(await cliTitle(kcrumb, file));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    cli = tally(cases, answers.map((a) => a.title));
    cli.valid = answers.filter((a) => a.valid).length;
  }
  const shown = cli ?? inProcess;
  if (args.includes('--verbose')) for (const miss of shown.misses) console.log(miss);
  if (args.includes('--markdown')) {
    console.log(`Corpus: ${cases.length} logs (${shown.titled} with a report, ${shown.without} without).`);
    console.log();
    console.log('| measured by | titled exactly | of those not marked corrupted | reports invented | valid JSON |');
    console.log('|---|---|---|---|---|');
    const row = (label: string, t: Tally, json: string) =>
      console.log(`| ${label} | ${t.right}/${t.titled} (${pct(t.right, t.titled)}) | ${t.cleanRight}/${t.cleanTitled} (${pct(t.cleanRight, t.cleanTitled)}) | ${t.invented}/${t.without} | ${json} |`);
    row('report parser', inProcess, '-');
    if (cli) row('`kcrumb locate-freeze --json`', cli, `${cli.valid}/${cases.length}`);
  } else {
    const line = (label: string, t: Tally) =>
      console.log(`${label}: titled exactly ${t.right}/${t.titled} (${pct(t.right, t.titled)}), not corrupted ${t.cleanRight}/${t.cleanTitled} (${pct(t.cleanRight, t.cleanTitled)}); logs without a report ${t.without}, invented ${t.invented}`);
    line('parser', inProcess);
    if (cli) {
      line('cli', cli);
      console.log(`cli: valid JSON ${cli.valid}/${cases.length}`);
    }
  }
}

await main();
