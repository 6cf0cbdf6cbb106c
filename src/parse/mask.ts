/**
 * Same-length masking of kernel-only syntax before tree-sitter-c sees it.
 *
 * tree-sitter-c knows C, not the kernel's macros: `list_for_each_entry(a, b, h) {` parses as a call with
 * a missing `;` and `for_each_possible_cpu(cpu) {` as a nested function. Replacing such text with text of
 * exactly the same length (an iterator head becomes `while` plus spaces, annotation words become spaces)
 * gives a tree in which every offset is still an offset of the original file, so edits planned on the
 * masked tree apply to the original text unchanged.
 */

/** Annotation words that only carry meaning for sparse, the linker or the optimiser. */
const BLANK_WORDS = new Set(
  (
    '__init __exit __initdata __exitdata __initconst __exitconst __devinit __devexit __meminit __ref __refdata ' +
    '__user __kernel __iomem __rcu __percpu __force __bitwise __private __safe __nocast __net ' +
    'noinline __noinline __always_inline __cold __hot __maybe_unused __used __unused __read_mostly ' +
    '__ro_after_init __must_check notrace __sched __pure __weak __visible asmlinkage __noreturn __noclone ' +
    '__nocfi __flatten __malloc __latent_entropy __randomize_layout __noinline_for_stack __attribute_const__ ' +
    '__deprecated __no_kcsan __no_sanitize_address __nostackprotector __cpuidle __irq_entry __kprobes ' +
    'noinstr __always_unused __mustcheck __cacheline_aligned __cacheline_aligned_in_smp ' +
    '____cacheline_aligned ____cacheline_aligned_in_smp __packed __iomem_ptr __counted_by_ptr'
  ).split(/\s+/),
);

/** Annotations written as calls: the word and its balanced parentheses are blanked. */
const BLANK_CALLS = new Set(
  '__acquires __releases __must_hold __aligned __printf __scanf __section __counted_by __cond_acquires __diag_ignore_all'.split(
    ' ',
  ),
);

/** Top-level registration macros that are often written without a `;` and then swallow what follows. */
const TOP_LEVEL_CALLS = /^(module_init|module_exit|(?:\w+_)?initcall(?:_sync)?|__setup|early_param|core_param|__exitcall|console_initcall)$/;

/** Scope and iterator macros that expand to a loop head and take a statement after their parentheses. */
const ITERATOR_NAME = /for_each|^scoped_guard$|^scoped_cond_guard$|^while_each_thread$/;

/** `#define NAME(...) for (` or `... while (`, or a define that expands to another iterator: a local iterator. */
const LOCAL_ITERATOR_DEFINE = /^\s*#\s*define\s+([A-Za-z_]\w*)\s*\([^)]*\)\s*(?:\\\s*)?(?:for\s*\(|while\s*\(|([A-Za-z_]\w*)\s*\()/;

interface Replacement {
  start: number;
  end: number;
  text: string;
}

export interface MaskResult {
  /** Same length as the input; offsets are interchangeable. */
  masked: string;
  /** Iterator macro heads rewritten to `while`, by start offset (for tests and diagnostics). */
  iteratorHeads: number[];
}

export function maskKernelSyntax(text: string): MaskResult {
  const replacements: Replacement[] = [];
  const iteratorHeads: number[] = [];
  const localIterators = findLocalIterators(text);
  const isIterator = (name: string) => ITERATOR_NAME.test(name) || localIterators.has(name);
  /** Start of the blanked `#else ... #endif` of a split header -> where scanning resumes after it. */
  const splitHeaderRest = new Map<number, number>();

  let depth = 0; // brace depth in code, to tell file scope from function bodies
  let lastSignificant = ';'; // last code character that is not white space or part of a comment
  let lastWord = '';
  let atLineStart = true;
  let i = 0;
  const n = text.length;

  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      atLineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      i = endOfLogicalLine(text, i);
      continue;
    }
    if (c === '#' && atLineStart) {
      const skipTo = splitHeaderRest.get(i);
      if (skipTo !== undefined) {
        i = skipTo;
        continue;
      }
      if (depth === 0) maskSplitHeader(i);
      i = endOfLogicalLine(text, i);
      continue;
    }
    atLineStart = false;
    if (c === '"' || c === "'") {
      i = endOfQuoted(text, i);
      lastSignificant = c;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text[j])) j++;
      const word = text.slice(i, j);
      const resume = maskWord(word, i, j);
      if (resume !== undefined) {
        i = resume;
        continue;
      }
      lastSignificant = 'a';
      lastWord = word;
      i = j;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
    lastSignificant = c;
    lastWord = '';
    i++;
  }

  /** Masks `word` at [start, end) when it is kernel-only syntax and says where scanning resumes. */
  function maskWord(word: string, start: number, end: number): number | undefined {
    if (BLANK_WORDS.has(word)) {
      replacements.push({ start, end, text: ' '.repeat(end - start) });
      return end; // blanked text is white space: lastSignificant stays as it was
    }
    const open = skipSpace(text, end);
    if (text[open] !== '(') return undefined;
    if (BLANK_CALLS.has(word)) {
      const close = matchParen(text, open);
      if (close < 0) return undefined;
      replacements.push({ start, end: close + 1, text: blankKeepingNewlines(text.slice(start, close + 1)) });
      return close + 1;
    }
    if (depth === 0 && (TOP_LEVEL_CALLS.test(word) || startsDeclaration(lastSignificant))) {
      const close = matchParen(text, open);
      if (close < 0) return undefined;
      const after = skipSpaceAndComments(text, close + 1);
      if (text[after] === ';') return undefined;
      // Any other macro call alone on its line (`drbd_debugfs_device_attr(x)` then `void f(...)`): it would
      // lend its name to the function after it. `SHOW(x) {` is a function head: left alone.
      const aloneOnLine = text.slice(close + 1, after).includes('\n') && isIdentStart(text[after] ?? '');
      if (!TOP_LEVEL_CALLS.test(word) && !aloneOnLine) return undefined;
      replacements.push({ start, end: close + 1, text: blankKeepingNewlines(text.slice(start, close + 1)) });
      return close + 1;
    }
    if (depth > 0 && isIterator(word) && startsStatement(lastSignificant, lastWord)) {
      const close = matchParen(text, open);
      if (close < 0) return undefined;
      const after = skipSpaceAndComments(text, close + 1);
      const next = text[after];
      if (next === '{' || (next !== undefined && isIdentStart(next))) {
        replacements.push({ start, end, text: 'while' + ' '.repeat(end - start - 5) });
        iteratorHeads.push(start);
        lastSignificant = 'a';
        lastWord = 'while';
        return end;
      }
    }
    return undefined;
  }

  /**
   * A function header split by the preprocessor (kernel-version compatibility in out-of-tree drivers):
   *
   *   #if LINUX_VERSION_CODE >= KERNEL_VERSION(4,13,0)
   *   static int x_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
   *   #else
   *   static int x_end_io(struct dm_target *ti, struct bio *bio, int error)
   *   #endif
   *   {
   *
   * tree-sitter sees two declarations and a body with no head. The parser is shown one branch only, the
   * first that holds code: whichever header the compiler takes, the body is the same, and breadcrumbs only
   * go into the body. A group whose every branch ends with the body's `{`, and one that splits a parameter
   * list, are read the same way.
   */
  function maskSplitHeader(at: number): void {
    const group = conditionalGroup(text, at);
    if (!group) return;
    const { branches, end } = group;
    const code = branches.map((b) => codeIn(text, b.start, b.end));
    const bodyFollows = text[skipSpaceAndComments(text, end)] === '{' || code.every((c) => c.endsWith('{'));
    // Inside a declaration already begun (a parameter list): branches of mere declarator text.
    const midHeader = lastSignificant !== ';' && lastSignificant !== '}' && code.every((c) => !/[;{}]/.test(c));
    const kept = code.findIndex((c) => c.length > 0);
    if (!(bodyFollows || midHeader) || kept < 0) return;
    const blank = (from: number, to: number) => replacements.push({ start: from, end: to, text: blankKeepingNewlines(text.slice(from, to)) });
    branches.forEach((b, k) => {
      blank(b.directive, b.start);
      if (k !== kept) blank(b.start, b.end);
    });
    const endif = branches[branches.length - 1].end;
    blank(endif, end);
    // The scanner reads the kept branch as code and jumps over everything after it.
    splitHeaderRest.set(kept + 1 < branches.length ? branches[kept + 1].directive : endif, end);
  }

  return { masked: applyReplacements(text, replacements), iteratorHeads };
}

/** One branch of a conditional group: its directive line starts at `directive`, its code is [start, end). */
interface Branch {
  directive: number;
  start: number;
  end: number;
}

/**
 * The branches of the `#if`/`#ifdef`/`#ifndef` group whose directive starts at `at`, and the end of its
 * `#endif` line; undefined when `at` is no such directive or the group does not close.
 */
function conditionalGroup(text: string, at: number): { branches: Branch[]; end: number } | undefined {
  if (!/^#\s*if/.test(text.slice(at, at + 16))) return undefined;
  const branches: Branch[] = [];
  let directive = at;
  let start = endOfLogicalLine(text, at) + 1;
  let nesting = 0;
  let i = start;
  while (i < text.length) {
    const lineEnd = endOfLogicalLine(text, i);
    const m = /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b/.exec(text.slice(i, Math.min(lineEnd, i + 40)));
    if (m) {
      const word = m[1];
      if (word.startsWith('if')) nesting++;
      else if (nesting > 0 && word === 'endif') nesting--;
      else if (nesting === 0) {
        branches.push({ directive, start, end: i });
        if (word === 'endif') return { branches, end: lineEnd };
        directive = i;
        start = lineEnd + 1;
      }
    }
    i = lineEnd + 1;
  }
  return undefined;
}

/** The code characters of [start, end): no white space, comments or preprocessor lines. */
function codeIn(text: string, start: number, end: number): string {
  let code = '';
  let i = start;
  let atLineStart = true;
  while (i < end) {
    const c = text[i];
    if (c === '\n') atLineStart = true;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? end : close + 2;
    } else if ((c === '/' && text[i + 1] === '/') || (c === '#' && atLineStart)) {
      i = endOfLogicalLine(text, i);
    } else {
      atLineStart = false;
      code += c;
      i++;
    }
  }
  return code;
}

/** At file scope: what comes before a macro call that stands as a declaration of its own. */
function startsDeclaration(lastSignificant: string): boolean {
  return lastSignificant === ';' || lastSignificant === '}' || lastSignificant === ')';
}

function startsStatement(lastSignificant: string, lastWord: string): boolean {
  if (lastWord === 'else' || lastWord === 'do') return true;
  return lastSignificant === ';' || lastSignificant === '{' || lastSignificant === '}' || lastSignificant === ')' || lastSignificant === ':';
}

function findLocalIterators(text: string): Set<string> {
  const names = new Set<string>();
  if (!text.includes('define')) return names;
  for (const line of text.split('\n')) {
    const m = LOCAL_ITERATOR_DEFINE.exec(line);
    if (!m) continue;
    if (m[2] === undefined || ITERATOR_NAME.test(m[2])) names.add(m[1]);
  }
  return names;
}

function applyReplacements(text: string, replacements: Replacement[]): string {
  if (replacements.length === 0) return text;
  replacements.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of replacements) {
    if (r.start < at) continue;
    out += text.slice(at, r.start) + r.text;
    at = r.end;
  }
  return out + text.slice(at);
}

function blankKeepingNewlines(s: string): string {
  return s.replace(/[^\n]/g, ' ');
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function skipSpaceAndComments(text: string, i: number): number {
  for (;;) {
    i = skipSpace(text, i);
    if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return text.length;
      i = close + 2;
    } else if (text.startsWith('//', i)) {
      i = endOfLogicalLine(text, i);
    } else {
      return i;
    }
  }
}

/** End of a line that may continue with a backslash (preprocessor lines, // comments). */
function endOfLogicalLine(text: string, i: number): number {
  for (;;) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) return text.length;
    let k = nl - 1;
    if (text[k] === '\r') k--;
    if (text[k] !== '\\') return nl;
    i = nl + 1;
  }
}

function endOfQuoted(text: string, i: number): number {
  const quote = text[i];
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === quote || c === '\n') return j + 1;
  }
  return text.length;
}

/** Offset of the `)` matching the `(` at `open`, skipping strings and comments; -1 if unbalanced. */
export function matchParen(text: string, open: number): number {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    const c = text[j];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return j;
    } else if (c === '"' || c === "'") j = endOfQuoted(text, j) - 1;
    else if (c === '/' && text[j + 1] === '*') {
      const close = text.indexOf('*/', j + 2);
      if (close < 0) return -1;
      j = close + 1;
    } else if (c === ';' || c === '{' || c === '}') return -1;
  }
  return -1;
}
