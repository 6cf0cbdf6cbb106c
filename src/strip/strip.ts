import { CLOSE_BRACE_TEXT, crumbPattern, escapeRegExp as escape, OPEN_BRACE_TEXT, RING_RECORD, SOURCE_CLOSE, SOURCE_OPEN, type Template } from '../breadcrumb.js';
import { parseC } from '../parse/c-parser.js';
import { maskKernelSyntax } from '../parse/mask.js';

/** A span strip leaves where it is, and why: the user edited it, or kcrumb never wrote it. */
export interface SpanProblem {
  line: number;
  why: string;
}

export interface StripResult {
  /** The text without the spans that are exactly kcrumb's (the others stay). */
  text: string;
  /** How many breadcrumbs were removed (inserted braces are not counted). */
  removed: number;
  /** Spans left in place: when there is any, the file must not be rewritten. */
  problems: SpanProblem[];
  /** What each pair of added braces held, as [start, end) offsets in `text`: exactly one statement, unless edited. */
  braced: [number, number][];
}

/**
 * The pieces kcrumb puts between its markers (apply.ts, render.ts): added braces, and breadcrumb
 * statements made from one of `templates` with a tag and a number, each followed by a space.
 */
function pieceMatcher(templates: readonly Template[]): RegExp {
  const crumbs = [...new Set(templates.map((t) => crumbPattern(t)))];
  const declarations = [...new Set(templates.flatMap((t) => (t.declaration ? [escape(t.declaration)] : [])))];
  // The --loop-limit form first: it starts with `{ ` like an added brace.
  const limited = crumbs.map((c) => `\\{ static unsigned int kc_n; if \\(kc_n < \\d+\\) \\{ kc_n\\+\\+; ${c} \\} \\}`);
  const declared = declarations.length ? `|(?:${declarations.join('|')}) ` : '';
  return new RegExp(`(${[...limited, ...crumbs].join('|')}) |(${escape(OPEN_BRACE_TEXT)})|(${escape(CLOSE_BRACE_TEXT)})${declared}`, 'y');
}

/** A breadcrumb as it appears in the source: its format string `"kq7x#87@`, or a ring record call. */
const CRUMB_IN_SOURCE = new RegExp(`"k[0-9a-z]{3}#\\d{1,7}@|\\b${RING_RECORD}(?:_task)?\\(0x`);

/**
 * Does the text hold breadcrumbs, edited or not: a marker and a breadcrumb's format string. Marker text
 * alone (a C string that happens to hold it) is not one of ours.
 */
export function hasBreadcrumbs(text: string): boolean {
  return (text.includes(SOURCE_OPEN) || text.includes(SOURCE_CLOSE)) && CRUMB_IN_SOURCE.test(text);
}

/**
 * Removes every span that is byte for byte what kcrumb inserted (markers, breadcrumbs made from one of
 * `templates`, added braces) and nothing else. Any other text between markers, a marker without its
 * partner, or braces that do not pair up is left in place and named: the user edited it, or kcrumb never
 * wrote it (a string that happens to hold the markers), and guessing could change what the code means.
 */
export function stripBreadcrumbs(text: string, templates: readonly Template[]): StripResult {
  const pieces = pieceMatcher(templates);
  const problems: SpanProblem[] = [];
  const braced: [number, number][] = [];
  const opens: number[] = [];
  let out = '';
  let removed = 0;
  let copied = 0;
  let scanned = 0;
  let line = 1;
  let counted = 0;
  const lineAt = (offset: number) => {
    for (let i = text.indexOf('\n', counted); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
    counted = Math.max(counted, offset);
    return line;
  };
  for (let at = text.indexOf(SOURCE_OPEN); at !== -1; ) {
    const stray = text.lastIndexOf(SOURCE_CLOSE, at);
    if (stray >= scanned) problems.push({ line: lineAt(stray), why: `${SOURCE_CLOSE} without its ${SOURCE_OPEN}` });
    const close = text.indexOf(SOURCE_CLOSE, at + SOURCE_OPEN.length);
    const nextOpen = text.indexOf(SOURCE_OPEN, at + SOURCE_OPEN.length);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      problems.push({ line: lineAt(at), why: `${SOURCE_OPEN} without its ${SOURCE_CLOSE}` });
      scanned = at + SOURCE_OPEN.length;
      at = nextOpen;
      continue;
    }
    const inner = text.slice(at + SOURCE_OPEN.length, close);
    const spanEnd = close + SOURCE_CLOSE.length;
    const tokens = tokenize(inner, pieces);
    if (!tokens) {
      problems.push({ line: lineAt(at), why: 'text between the markers is not what kcrumb inserts (edited, or not written by kcrumb)' });
    } else {
      out += text.slice(copied, at);
      copied = spanEnd;
      for (const token of tokens) {
        if (token === 'crumb') removed++;
        else if (token === 'declaration') continue;
        else if (token === 'open') opens.push(out.length);
        else if (opens.length > 0) braced.push([opens.pop()!, out.length]);
        else problems.push({ line: lineAt(at), why: 'a brace kcrumb added closes nothing it opened' });
      }
    }
    scanned = spanEnd;
    at = text.indexOf(SOURCE_OPEN, spanEnd);
  }
  const stray = text.indexOf(SOURCE_CLOSE, scanned);
  if (stray !== -1) problems.push({ line: lineAt(stray), why: `${SOURCE_CLOSE} without its ${SOURCE_OPEN}` });
  out += text.slice(copied);
  for (const open of opens) problems.push({ line: lineOfOffset(out, open), why: 'a brace kcrumb added is never closed' });
  return { text: out, removed, problems: problems.sort((a, b) => a.line - b.line), braced };
}

function tokenize(inner: string, pieces: RegExp): ('crumb' | 'open' | 'close' | 'declaration')[] | undefined {
  const tokens: ('crumb' | 'open' | 'close' | 'declaration')[] = [];
  pieces.lastIndex = 0;
  while (pieces.lastIndex < inner.length) {
    const m = pieces.exec(inner);
    if (!m) return undefined;
    tokens.push(m[1] !== undefined ? 'crumb' : m[2] !== undefined ? 'open' : m[3] !== undefined ? 'close' : 'declaration');
  }
  return tokens.length > 0 ? tokens : undefined;
}

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Whitespace and comments only. */
const NOTHING = /^(?:\s|\/\*[\s\S]*?\*\/|\/\/[^\n]*)*$/;

/**
 * kcrumb adds braces only around a single statement (an if arm or a loop body, to put a breadcrumb in
 * front of it). If an edit left more than one statement between them, removing them would change what
 * runs (`if (!p) DMERR("oom"); return -ENOMEM;` always returns): name those places. Parses the
 * stripped text once.
 */
export async function editedBraces(stripped: string, braced: [number, number][]): Promise<SpanProblem[]> {
  if (braced.length === 0) return [];
  const root = await parseC(maskKernelSyntax(stripped).masked);
  const problems: SpanProblem[] = [];
  for (const [from, to] of braced) {
    const region = stripped.slice(from, to);
    const start = from + (region.length - region.trimStart().length);
    let node = root.descendantForIndex(start);
    while (node.parent && node.parent.startIndex === start && node.parent.endIndex <= to) node = node.parent;
    const single = node.startIndex === start && node.endIndex <= to && !node.hasError && NOTHING.test(stripped.slice(node.endIndex, to));
    if (!single) {
      problems.push({ line: lineOfOffset(stripped, from), why: 'the braces kcrumb added now hold more than one statement: removing them would change control flow' });
    }
  }
  return problems;
}
