/**
 * Counts the function bodies of a C file without tree-sitter: a `{` at file scope whose last code
 * character before it (skipping white space, comments and preprocessor lines) is `)` opens a body
 * (`int f(void) {`, `void g(void) __releases(x) {`); `= {`, `struct s {` and `enum {` do not. Where the
 * preprocessor gives a body more than one header, it is still one `{`. Kept apart from src/ on purpose:
 * it is what the parser's answer is checked against.
 */
export interface Body {
  /** 1-based line of the `{`. */
  line: number;
  /** The last name followed by `(` at the outer parenthesis level of the header: the function's name. */
  name: string;
  /** For a head made by a macro (`SYSCALL_DEFINE3(getrandom, ...)`), its first argument. */
  alias?: string;
}

/** What the scan knows at one point: restored at each `#else`, as the compiler sees one branch only. */
interface ScanState {
  depth: number;
  parens: number;
  /** Last code character (`a` for a word). */
  last: string;
  headerNames: string[];
}

/** An open `#if` group: the state at its start and after its first branch that holds code. */
interface Group {
  start: ScanState;
  branchHasCode: boolean;
  firstEnd?: ScanState;
}

export function functionBodies(text: string): Body[] {
  const bodies: Body[] = [];
  let st: ScanState = { depth: 0, parens: 0, last: ';', headerNames: [] };
  const groups: Group[] = [];
  let line = 1;
  let atLineStart = true;
  let newLineSinceLast = false;
  let i = 0;
  const n = text.length;
  const copy = (s: ScanState): ScanState => ({ ...s, headerNames: [...s.headerNames] });
  const endOfLogicalLine = (from: number) => {
    let j = from;
    for (;;) {
      const nl = text.indexOf('\n', j);
      if (nl < 0) return n;
      if (text[nl - 1] !== '\\' && !(text[nl - 1] === '\r' && text[nl - 2] === '\\')) return nl;
      line++;
      j = nl + 1;
    }
  };
  /** A branch ends: bodies it opened and left open are the same body as the first branch's (`f(a) {` / `f(b) {`). */
  const endBranch = (g: Group) => {
    if (g.firstEnd) bodies.splice(bodies.length - Math.max(0, st.depth - g.start.depth), Math.max(0, st.depth - g.start.depth));
    else if (g.branchHasCode) g.firstEnd = copy(st);
  };
  const directive = (lineText: string) => {
    const word = /^#\s*(if|ifdef|ifndef|elif|else|endif)\b/.exec(lineText)?.[1];
    if (!word) return;
    if (word.startsWith('if')) {
      groups.push({ start: copy(st), branchHasCode: false });
      return;
    }
    const g = groups[groups.length - 1];
    if (!g) return;
    endBranch(g);
    if (word === 'endif') {
      groups.pop();
      if (g.firstEnd) st = g.firstEnd;
    } else {
      st = copy(g.start);
      g.branchHasCode = false;
    }
  };
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      newLineSinceLast = true;
      line++;
      atLineStart = true;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      i = endOfLogicalLine(i);
    } else if (c === '#' && atLineStart) {
      const end = endOfLogicalLine(i);
      directive(text.slice(i, Math.min(end, i + 40)));
      i = end;
    } else {
      atLineStart = false;
      const startsLine = newLineSinceLast;
      newLineSinceLast = false;
      for (const g of groups) g.branchHasCode = true;
      if (c === '"' || c === "'") {
        let j = i + 1;
        while (j < n && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
        i = j + 1;
        st.last = c;
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        let j = i + 1;
        while (j < n && /\w/.test(text[j])) j++;
        let k = j;
        while (k < n && (text[k] === ' ' || text[k] === '\t')) k++;
        const word = text.slice(i, j);
        i = j;
        if (st.depth > 0 || st.parens > 0) {
          st.last = 'a';
          continue;
        }
        // After `)`, a `__` word is an annotation (`int f(void) __acquires(x)`, `__cold`); another word
        // that starts a line follows a macro call written without `;` (`SHOW_LOCKED(x)`, then `STORE(x) {`).
        if (st.last === ')' && word.startsWith('__')) continue;
        if (text[k] === '(') {
          if (st.last !== ')') st.headerNames.push(word);
          else if (startsLine) st.headerNames = [word];
        }
        st.last = 'a';
        continue;
      }
      if (st.depth === 0) {
        if (c === '(') st.parens++;
        else if (c === ')') st.parens = Math.max(0, st.parens - 1);
        else if (c === '{' && st.last === ')' && st.parens === 0) bodies.push({ line, name: headerName(st.headerNames), alias: macroArgument(st.headerNames, text, i) });
        if (c === ';' || c === '}' || c === '{') st.headerNames = [];
      }
      if (c === '{') st.depth++;
      else if (c === '}') st.depth = Math.max(0, st.depth - 1);
      st.last = c;
      i++;
    }
  }
  return bodies;
}

/** `SYSCALL_DEFINE3(getrandom, char __user *, ubuf, ...) {`: getrandom. */
function macroArgument(names: string[], text: string, brace: number): string | undefined {
  const name = headerName(names);
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) return undefined;
  const head = text.slice(Math.max(0, brace - 2000), brace);
  return new RegExp(`\\b${name}\\s*\\(\\s*(\\w+)`).exec(head.slice(head.lastIndexOf(name)))?.[1];
}

/** `static int __init f(void)`: f. `void g(void) __acquires(x)`: g, not __acquires. `module_init(x)` with no `;`, then `int f(void)`: f. */
function headerName(names: string[]): string {
  const real = names.filter((name) => !/^__(?:acquires|releases|must_hold|attribute__|printf|aligned|section|cond_acquires)$|^KERNEL_VERSION$|^defined$/.test(name));
  return real[real.length - 1] ?? '?';
}

/**
 * The bodies of `text` that an instrument run with `--functions '*'` neither instrumented nor named as
 * skipped, and the names it reported that no body has; both empty when no function vanished.
 * `SHOW(x)` as kcrumb names a macro-made function matches the body named `SHOW`; `getrandom`, the body of
 * `SYSCALL_DEFINE3(getrandom, ...)`.
 */
export function unaccountedBodies(text: string, reported: { name: string }[]): { missing: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  const aliases = new Map<string, string>();
  for (const body of functionBodies(text)) {
    counts.set(body.name, (counts.get(body.name) ?? 0) + 1);
    if (body.alias) aliases.set(body.alias, body.name);
  }
  const extra: string[] = [];
  for (const { name } of reported) {
    const plain = name.replace(/\(.*$/, '');
    const key = counts.get(plain) ? plain : (aliases.get(plain) ?? plain);
    const left = counts.get(key) ?? 0;
    if (left > 0) counts.set(key, left - 1);
    else extra.push(name);
  }
  const missing = [...counts].flatMap(([name, left]) => Array<string>(left).fill(name));
  return { missing, extra };
}
