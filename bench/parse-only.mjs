// The floor for bench/instrument.ts: read and parse every .c file below a folder with tree-sitter-c,
// nothing else. Usage: node bench/parse-only.mjs DIR [K N]   (K N: only every N-th file, from the K-th)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';

const require = createRequire(import.meta.url);
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : name.endsWith('.c') ? [full] : [];
  });
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve('tree-sitter-c/tree-sitter-c.wasm')));
const [part, parts] = [Number(process.argv[3] ?? 0), Number(process.argv[4] ?? 1)];
let nodes = 0;
for (const file of walk(process.argv[2]).filter((_, i) => i % parts === part)) {
  const tree = parser.parse(readFileSync(file, 'latin1'));
  nodes += tree.rootNode.descendantCount;
  tree.delete();
}
console.log(nodes);
