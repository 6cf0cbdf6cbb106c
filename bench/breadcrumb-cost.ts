/**
 * Benchmark 3: what one breadcrumb costs the machine that is about to freeze. For each template and
 * level: the bytes a breadcrumb prints (its own text, and the console line with printk's timestamp
 * prefix), and how many breadcrumbs per second a 115200-baud console carries (8N1: 11,520 bytes/s).
 * Measured on examples/dm-remap and, when scripts/kernel-env.sh fetched it, drivers/md; and checked
 * against the real serial log captured from the example (examples/dm-remap/captured/).
 *
 *   node --import tsx bench/breadcrumb-cost.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCrumbs } from '../src/breadcrumb.js';
import { instrumentSources } from '../src/instrument/instrument.js';
import { BUILTIN_TEMPLATES, parseTemplate } from '../src/instrument/template.js';
import type { Level } from '../src/manifest/schema.js';
import { kernelEnv } from '../test/support/kernel-env.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BAUD_BYTES_PER_S = 115200 / 10;
/** `[    2.987097] `: printk's timestamp on the console (CONFIG_PRINTK_TIME, on in Debian). */
const CONSOLE_PREFIX = 15;

function cFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? cFiles(full) : name.endsWith('.c') ? [full] : [];
  });
}

const trees: { name: string; files: string[] }[] = [{ name: 'examples/dm-remap', files: cFiles(join(REPO, 'examples', 'dm-remap')) }];
const src = kernelEnv().linuxSrc;
if (src) trees.push({ name: 'drivers/md (every function)', files: cFiles(join(src, 'drivers', 'md')) });

console.log('| code | level | template | breadcrumbs | text bytes (avg, max) | console line bytes (avg) | breadcrumbs/s at 115200 baud |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const tree of trees) {
  const sources = tree.files.map((path) => ({ path, text: readFileSync(path, 'latin1') }));
  for (const level of ['functions', 'branches', 'every-line'] as Level[]) {
    for (const name of BUILTIN_TEMPLATES) {
      const template = parseTemplate(readFileSync(join(REPO, 'templates', `${name}.tmpl`), 'utf8'), name);
      const functions = tree.name.startsWith('drivers') ? ['*'] : undefined;
      const { manifest } = await instrumentSources(sources, { level, template, tag: 'kq7x', root: REPO, functions });
      const n = manifest.crumbs.length;
      // The breadcrumb's own text, tag#id@cpu (CPU numbers of one digit); the console adds a newline.
      const text = manifest.crumbs.reduce((sum, c) => sum + `kq7x#${c.id}@1`.length, 0) / n;
      const longest = `kq7x#${n}@1`.length;
      const onConsole = name === 'trace_printk' ? 0 : CONSOLE_PREFIX + text + 1;
      const rate = onConsole === 0 ? 'not on the console' : Math.round(BAUD_BYTES_PER_S / onConsole).toLocaleString('en');
      console.log(`| ${tree.name} | ${level} | ${name} | ${n} | ${text.toFixed(1)}, ${longest} | ${onConsole === 0 ? '0 (ftrace buffer)' : onConsole.toFixed(1)} | ${rate} |`);
    }
  }
}

const captured = join(REPO, 'examples', 'dm-remap', 'captured', 'remove-one-remap.serial.log');
const lines = readFileSync(captured, 'latin1').split('\n').filter((line) => findCrumbs(line).length > 0);
const average = lines.reduce((sum, line) => sum + line.length + 1, 0) / lines.length;
console.log('');
console.log(
  `Real serial log (${captured.slice(REPO.length)}): ${lines.length} breadcrumb lines, ${average.toFixed(1)} bytes each on average ` +
    `(${Math.round(BAUD_BYTES_PER_S / average).toLocaleString('en')} breadcrumbs/s at 115200 baud).`,
);
