/**
 * Titles of kernel reports against a corpus of real console logs whose expected titles are known: files
 * that start with `TITLE: <expected>` header lines (the form of syzkaller's pkg/report/testdata/linux/
 * report/*, fetched separately: this script ships no corpus), then a blank line, then the log. Files
 * without a TITLE hold no report: none may be found in them.
 *   node --import tsx bench/report-titles.ts DIR [--verbose]
 * Prints the share of logs whose first report's title is exactly the expected one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLogLine } from '../src/locate/log-line.js';
import { ReportParser } from '../src/reports/parse.js';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: report-titles.ts DIR [--verbose]');
  process.exit(2);
}
const verbose = rest.includes('--verbose');
let withTitle = 0;
let right = 0;
let without = 0;
let invented = 0;
for (const name of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, name), 'latin1');
  const split = text.indexOf('\n\n');
  const head = split === -1 ? '' : text.slice(0, split);
  const expected = /^TITLE: (.*)$/m.exec(head)?.[1]?.trim();
  const body = /^(?:TITLE|TYPE|CORRUPTED|SUPPRESSED|FRAME|EXECUTOR|ALT|START|END|ARCH)/.test(head) ? text.slice(split + 2) : text;
  const parser = new ReportParser();
  body.split('\n').forEach((line, i) => parser.feed(parseLogLine(line), i + 1, 0));
  const got = parser.end().find((r) => r.kind !== 'nmi-backtrace')?.title;
  if (expected) {
    withTitle++;
    if (got === expected) right++;
    else if (verbose) console.log(`${name}: want ${JSON.stringify(expected)} got ${JSON.stringify(got ?? null)}`);
  } else {
    without++;
    if (got !== undefined) {
      invented++;
      if (verbose) console.log(`${name}: want none, got ${JSON.stringify(got)}`);
    }
  }
}
const pct = withTitle ? ((100 * right) / withTitle).toFixed(1) : '-';
console.log(`titled exactly: ${right}/${withTitle} (${pct}%); logs without a report: ${without}, reports invented: ${invented}`);
