import { createRequire } from 'node:module';
import { Language, Parser, type Tree } from 'web-tree-sitter';

const require = createRequire(import.meta.url);
let parserPromise: Promise<Parser> | undefined;

/** One tree-sitter-c parser per process, loaded from the wasm that ships inside tree-sitter-c. */
function loadParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const language = await Language.load(require.resolve('tree-sitter-c/tree-sitter-c.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/**
 * Parses C text. Offsets in the tree are offsets in `text` (a JavaScript string), so callers that
 * parse masked text (see mask.ts) get offsets valid in the original. The caller must `tree.delete()`.
 */
export async function parseC(text: string): Promise<Tree> {
  const parser = await loadParser();
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}
