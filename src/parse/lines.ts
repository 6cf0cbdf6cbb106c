/** Offsets to gcc-style positions: 1-based lines, and columns with tabs advancing to multiples of 8. */

export type LineIndex = number[];

export function indexLines(text: string): LineIndex {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Index of the first of `items` (sorted by `offsetOf`) whose offset is at or after `offset`; items.length when none. */
export function firstFrom<T>(items: readonly T[], offset: number, offsetOf: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsetOf(items[mid]) < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** 1-based line of `offset`. */
export function lineOf(lines: LineIndex, offset: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** 1-based column of `offset` as gcc prints it (-fdiagnostics-column-unit=display, tab stop 8). */
export function columnOf(text: string, lines: LineIndex, offset: number): number {
  let column = 0;
  for (let i = lines[lineOf(lines, offset) - 1]; i < offset; i++) {
    column = text[i] === '\t' ? (Math.floor(column / 8) + 1) * 8 : column + 1;
  }
  return column + 1;
}
