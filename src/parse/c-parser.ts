import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';
import { copyTree, type CursorBinding, type LanguageTables, type SyntaxNode } from './syntax-tree.js';
import { InternalError } from '../errors.js';

const require = createRequire(import.meta.url);

interface LoadedParser {
  parser: Parser;
  /** web-tree-sitter's Emscripten module: Parser.init fills in the object it is given. */
  binding: CursorBinding;
  language: LanguageTables;
}

let loading: Promise<LoadedParser> | undefined;

/** One tree-sitter-c parser per thread, loaded from the wasm that ships inside tree-sitter-c. */
function loadParser(): Promise<LoadedParser> {
  loading ??= (async () => {
    const binding = {} as CursorBinding;
    await Parser.init(binding);
    if (typeof binding._ts_tree_cursor_current_node_type_id_wasm !== 'function') {
      // Either this version does not expose them, or something in this thread called Parser.init first
      // (web-tree-sitter then keeps its own module object and fills in nothing).
      throw new InternalError('web-tree-sitter: no cursor functions on the module (kcrumb pins 0.25.x and must initialise it first)');
    }
    const language = await Language.load(require.resolve('tree-sitter-c/tree-sitter-c.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    const named = language.types.map((_, id) => language.nodeTypeIsNamed(id));
    return { parser, binding, language: { types: language.types, fields: language.fields as string[], named } };
  })();
  return loading;
}

/**
 * Parses C text into a plain JavaScript tree (see syntax-tree.ts). Offsets in the tree are offsets in
 * `text`, so callers that parse masked text (see mask.ts) get offsets valid in the original.
 */
export async function parseC(text: string): Promise<SyntaxNode> {
  const { parser, binding, language } = await loadParser();
  const tree = parser.parse(text);
  if (!tree) throw new InternalError('tree-sitter returned no tree');
  try {
    const address = (tree as unknown as { 0: number })[0];
    return copyTree(binding, language, tree, address, text);
  } finally {
    tree.delete();
  }
}
