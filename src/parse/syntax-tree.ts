/**
 * A JavaScript copy of a tree-sitter tree, read in one pass.
 *
 * web-tree-sitter keeps its trees in wasm memory, and every property of one of its nodes (type, end,
 * parent, children) is a call into wasm that builds new JavaScript objects. The planner asks tens of
 * questions per node, so on kernel files those calls, and the garbage they leave, cost more than the
 * parse itself (and garbage collection does not spread over worker threads the way plain work does).
 *
 * This module walks the tree once with a tree cursor, calling the binding's cursor functions directly
 * (the functions web-tree-sitter's TreeCursor calls, without re-marshalling the cursor around each
 * call), into flat typed arrays: one slot per node, in document order. A SyntaxNode is a small view of
 * one slot, made the first time the planner looks at that node; most nodes (tokens, expression
 * internals) never get one. The wasm tree can be freed as soon as the copy is made.
 *
 * SyntaxNode keeps the names of web-tree-sitter's Node API for the part kcrumb uses.
 */
import type { Tree } from 'web-tree-sitter';
import { InternalError } from '../errors.js';

/** The cursor functions of web-tree-sitter's wasm binding (its Emscripten module, see c-parser.ts). */
export interface CursorBinding {
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_missing_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_delete_wasm(tree: number): void;
}

/** What a copy needs of the language: names by id, and which types are named. */
export interface LanguageTables {
  types: string[];
  fields: (string | null)[];
  named: boolean[];
}

/** tree-sitter's symbol for ERROR nodes. */
const ERROR_SYMBOL = 65535;
const NAMED = 1;
const MISSING = 2;
/** Contains an ERROR or MISSING node (itself included), like tree-sitter's ts_node_has_error. */
const HAS_ERROR = 4;
const NONE = -1;

/** The flat arrays of one tree; node i is slot i, the root is slot 0. */
class Slots {
  readonly views: (SyntaxNode | undefined)[];
  readonly type: Uint16Array;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  readonly field: Uint8Array;
  readonly flags: Uint8Array;
  readonly parent: Int32Array;
  readonly nextSibling: Int32Array;
  /** Children of slot i are i + 1 (when this says so) and then along nextSibling. */
  readonly hasChildren: Uint8Array;

  constructor(
    readonly count: number,
    readonly source: string,
    readonly language: LanguageTables,
  ) {
    this.views = new Array(count);
    this.type = new Uint16Array(count);
    this.start = new Uint32Array(count);
    this.end = new Uint32Array(count);
    this.field = new Uint8Array(count);
    this.flags = new Uint8Array(count);
    this.parent = new Int32Array(count);
    this.nextSibling = new Int32Array(count).fill(NONE);
    this.hasChildren = new Uint8Array(count);
  }

  view(index: number): SyntaxNode {
    return (this.views[index] ??= new SyntaxNode(this, index));
  }
}

export class SyntaxNode {
  /** @internal */
  constructor(
    private readonly slots: Slots,
    private readonly index: number,
  ) {}

  get type(): string {
    const id = this.slots.type[this.index];
    return id === ERROR_SYMBOL ? 'ERROR' : (this.slots.language.types[id] ?? 'ERROR');
  }

  get startIndex(): number {
    return this.slots.start[this.index];
  }

  get endIndex(): number {
    return this.slots.end[this.index];
  }

  get isNamed(): boolean {
    return (this.slots.flags[this.index] & NAMED) !== 0;
  }

  get isMissing(): boolean {
    return (this.slots.flags[this.index] & MISSING) !== 0;
  }

  get hasError(): boolean {
    return (this.slots.flags[this.index] & HAS_ERROR) !== 0;
  }

  /** The field this node fills in its parent (`condition`, `body`, ...), if any. */
  get fieldName(): string | undefined {
    const id = this.slots.field[this.index];
    return id ? (this.slots.language.fields[id] ?? undefined) : undefined;
  }

  /** The parsed (masked) text of the node: same offsets as the original. */
  get text(): string {
    return this.slots.source.slice(this.startIndex, this.endIndex);
  }

  get parent(): SyntaxNode | null {
    const p = this.slots.parent[this.index];
    return p === NONE ? null : this.slots.view(p);
  }

  get children(): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = this.firstChild(); c !== NONE; c = this.slots.nextSibling[c]) out.push(this.slots.view(c));
    return out;
  }

  get namedChildren(): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = this.firstChild(); c !== NONE; c = this.slots.nextSibling[c]) {
      if (this.slots.flags[c] & NAMED) out.push(this.slots.view(c));
    }
    return out;
  }

  get namedChildCount(): number {
    let count = 0;
    for (let c = this.firstChild(); c !== NONE; c = this.slots.nextSibling[c]) if (this.slots.flags[c] & NAMED) count++;
    return count;
  }

  namedChild(index: number): SyntaxNode | null {
    let seen = 0;
    for (let c = this.firstChild(); c !== NONE; c = this.slots.nextSibling[c]) {
      if (this.slots.flags[c] & NAMED && seen++ === index) return this.slots.view(c);
    }
    return null;
  }

  childForFieldName(field: string): SyntaxNode | null {
    const { fields } = this.slots.language;
    for (let c = this.firstChild(); c !== NONE; c = this.slots.nextSibling[c]) {
      if (fields[this.slots.field[c]] === field) return this.slots.view(c);
    }
    return null;
  }

  childrenForFieldName(field: string): SyntaxNode[] {
    return this.children.filter((child) => child.fieldName === field);
  }

  /** This node and every node below it whose type is one of `types`, in document order. */
  descendantsOfType(types: string | readonly string[]): SyntaxNode[] {
    const wanted = typeof types === 'string' ? [types] : types;
    const { type } = this.slots;
    const names = this.slots.language.types;
    const found: SyntaxNode[] = [];
    // Slots are in document order: the subtree is every slot after this one that starts before its end
    // (a zero-width node at the very end included).
    const last = this.subtreeEnd();
    for (let i = this.index; i < last; i++) {
      const name = type[i] === ERROR_SYMBOL ? 'ERROR' : names[type[i]];
      if (wanted.includes(name)) found.push(this.slots.view(i));
    }
    return found;
  }

  /** The smallest node that contains `index`. */
  descendantForIndex(index: number): SyntaxNode {
    let node = this.index;
    for (;;) {
      let inner = NONE;
      for (let c = this.slots.hasChildren[node] ? node + 1 : NONE; c !== NONE; c = this.slots.nextSibling[c]) {
        if (this.slots.start[c] <= index && index < this.slots.end[c]) inner = c;
      }
      if (inner === NONE) return this.slots.view(node);
      node = inner;
    }
  }

  private firstChild(): number {
    return this.slots.hasChildren[this.index] ? this.index + 1 : NONE;
  }

  /** One past the last slot of this node's subtree. */
  private subtreeEnd(): number {
    for (let n = this.index; n !== NONE; n = this.slots.parent[n]) {
      if (this.slots.nextSibling[n] !== NONE) return this.slots.nextSibling[n];
    }
    return this.slots.count;
  }
}

/**
 * Copies `tree` (parsed from `source`) and returns its root. `treeAddress` is the tree's handle in wasm
 * memory; the walk uses a cursor web-tree-sitter has just created (tree.walk() leaves it in the binding's
 * transfer buffer, where the cursor functions read and update it) and frees it through the binding.
 */
export function copyTree(binding: CursorBinding, language: LanguageTables, tree: Tree, treeAddress: number, source: string): SyntaxNode {
  const root = tree.rootNode;
  const slots = new Slots(root.descendantCount, source, language);
  tree.walk();
  const b = binding;
  const t = treeAddress;
  const { type, start, end, field, flags, parent, nextSibling, hasChildren } = slots;
  let n = 0;
  const read = (parentSlot: number): number => {
    const i = n++;
    const id = b._ts_tree_cursor_current_node_type_id_wasm(t);
    type[i] = id;
    start[i] = b._ts_tree_cursor_start_index_wasm(t);
    end[i] = b._ts_tree_cursor_end_index_wasm(t);
    field[i] = parentSlot === NONE ? 0 : b._ts_tree_cursor_current_field_id_wasm(t);
    parent[i] = parentSlot;
    const missing = start[i] === end[i] && b._ts_tree_cursor_current_node_is_missing_wasm(t) === 1;
    const isError = id === ERROR_SYMBOL;
    flags[i] = (isError || language.named[id] ? NAMED : 0) | (missing ? MISSING : 0);
    if (isError || missing) {
      for (let p = i; p !== NONE && !(flags[p] & HAS_ERROR); p = parent[p]) flags[p] |= HAS_ERROR;
    }
    return i;
  };

  try {
    walk();
  } finally {
    b._ts_tree_cursor_delete_wasm(t);
  }
  if (n !== slots.count) throw new InternalError(`copyTree: read ${n} nodes, the tree has ${slots.count}`);
  return slots.view(0);

  /** Pre-order, filling parent and nextSibling on the way. */
  function walk(): void {
    let current = read(NONE);
    if (!b._ts_tree_cursor_goto_first_child_wasm(t)) return;
    hasChildren[current] = 1;
    let previous = NONE;
    for (;;) {
      const i = read(current);
      if (previous !== NONE) nextSibling[previous] = i;
      if (b._ts_tree_cursor_goto_first_child_wasm(t)) {
        hasChildren[i] = 1;
        current = i;
        previous = NONE;
        continue;
      }
      previous = i;
      while (!b._ts_tree_cursor_goto_next_sibling_wasm(t)) {
        if (!b._ts_tree_cursor_goto_parent_wasm(t) || current === 0) return;
        previous = current;
        current = parent[current];
      }
    }
  }
}
