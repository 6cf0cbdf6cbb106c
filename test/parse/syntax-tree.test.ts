/**
 * The copied tree (src/parse/syntax-tree.ts) must say what web-tree-sitter's own nodes say, node for
 * node: type, range, field, named, missing, has-error, parent and children. It reads the tree through the
 * binding's cursor functions, so a web-tree-sitter upgrade that changes them must fail here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { parseC } from '../../src/parse/c-parser.js';
import { maskKernelSyntax } from '../../src/parse/mask.js';
import type { SyntaxNode } from '../../src/parse/syntax-tree.js';
import { needKernel } from '../support/kernel-env.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

async function referenceParser(): Promise<Parser> {
  // kcrumb's parser first: it must be the one that initialises web-tree-sitter (c-parser.ts).
  await parseC('');
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve('tree-sitter-c/tree-sitter-c.wasm')));
  return parser;
}

/** Every difference between the two trees, as "path: what" lines (at most `limit`). */
function differences(expected: Node, actual: SyntaxNode, limit = 5): string[] {
  const out: string[] = [];
  const compare = (e: Node, a: SyntaxNode, field: string | undefined, path: string) => {
    if (out.length >= limit) return;
    const want = { type: e.type, start: e.startIndex, end: e.endIndex, field, named: e.isNamed, missing: e.isMissing, error: e.hasError };
    const got = { type: a.type, start: a.startIndex, end: a.endIndex, field: a.fieldName, named: a.isNamed, missing: a.isMissing, error: a.hasError };
    if (JSON.stringify(want) !== JSON.stringify(got)) out.push(`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    const kids = a.children;
    if (e.childCount !== kids.length) {
      out.push(`${path}: expected ${e.childCount} children, got ${kids.length}`);
      return;
    }
    for (let i = 0; i < e.childCount; i++) {
      if (kids[i].parent !== a) out.push(`${path}/${i}: parent is not the node it is a child of`);
      compare(e.child(i)!, kids[i], e.fieldNameForChild(i) ?? undefined, `${path}/${i}:${e.child(i)!.type}`);
    }
  };
  compare(expected, actual, undefined, 'root');
  return out;
}

async function assertSameTree(parser: Parser, name: string, text: string): Promise<void> {
  const masked = maskKernelSyntax(text).masked;
  const reference = parser.parse(masked)!;
  try {
    const copy = await parseC(masked);
    assert.deepEqual(differences(reference.rootNode, copy), [], name);
    // The lookups the planner uses, checked against the reference on every function body.
    const bodies = reference.rootNode.descendantsOfType('compound_statement').slice(0, 50);
    const copies = copy.descendantsOfType('compound_statement').slice(0, 50);
    assert.deepEqual(copies.map((n) => n.startIndex), bodies.map((n) => n!.startIndex), `${name}: descendantsOfType`);
    for (const [i, body] of bodies.entries()) {
      assert.equal(copies[i].namedChildCount, body!.namedChildCount);
      assert.deepEqual(copies[i].namedChildren.map((n) => n.startIndex), body!.namedChildren.map((n) => n!.startIndex));
      const at = body!.startIndex + 1;
      assert.equal(copy.descendantForIndex(at).startIndex, reference.rootNode.descendantForIndex(at)!.startIndex, `${name}: descendantForIndex(${at})`);
    }
  } finally {
    reference.delete();
  }
}

describe('the copied syntax tree', () => {
  it('matches web-tree-sitter on the example target and every fixture input', async () => {
    const parser = await referenceParser();
    const example = join(REPO, 'examples', 'dm-remap');
    const files = readdirSync(example).filter((f) => f.endsWith('.c')).map((f) => join(example, f));
    const fixtures = join(REPO, 'test', 'fixtures', 'instrument');
    for (const dir of readdirSync(fixtures)) files.push(join(fixtures, dir, 'input.c'));
    for (const file of files) await assertSameTree(parser, file, readFileSync(file, 'latin1'));
  });

  it('matches on broken code: ERROR and MISSING nodes, and has-error up the tree', async () => {
    const parser = await referenceParser();
    await assertSameTree(parser, 'broken', 'int f(void)\n{\n\tint x = (1 + ;\n\tif (x) { return x }\n\tfoo(;\n}\n');
    const root = await parseC('int f(void) { return 1 }');
    assert.ok(root.hasError, 'a missing ; marks the root');
    assert.ok(root.descendantsOfType('return_statement')[0].children.some((c) => c.isMissing));
  });

  it('matches on real kernel files (drivers/md of linux-source-6.1)', async (t) => {
    const src = needKernel(t, 'linuxSrc');
    if (!src) return;
    const parser = await referenceParser();
    const md = join(src, 'drivers', 'md');
    for (const name of ['dm.c', 'dm-thin.c', 'dm-crypt.c', 'raid5.c', 'md.c']) {
      await assertSameTree(parser, name, readFileSync(join(md, name), 'latin1'));
    }
  });
});
