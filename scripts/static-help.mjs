// Part of npm run build: writes dist/help.txt, the text `kcrumb --help` prints (commander's, from the
// commands table in src/cli/main.ts), so bin/kcrumb can print it without loading commander.
import { writeFileSync } from 'node:fs';
import { main } from '../dist/cli/main.js';

let text = '';
const capture = (s) => (text += s.endsWith('\n') ? s : `${s}\n`);
const code = await main(['--help'], { out: capture, err: capture, status() {}, color: false, interactive: false });
if (code !== 0) throw new Error(`kcrumb --help exited ${code}`);
writeFileSync(new URL('../dist/help.txt', import.meta.url), text);
