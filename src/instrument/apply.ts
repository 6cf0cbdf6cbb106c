import MagicString from 'magic-string';
import { SOURCE_CLOSE, SOURCE_OPEN } from '../breadcrumb.js';

/** A piece of text to insert at an offset of the original; pieces at one offset keep their order. */
export interface Insertion {
  offset: number;
  text: string;
}

/**
 * Inserts the pieces into the original text, each run of pieces at one offset wrapped in one pair of
 * markers, so strip finds exactly what was inserted. No piece contains a newline: line numbers stay.
 */
export function applyInsertions(original: string, insertions: Insertion[]): string {
  const s = new MagicString(original);
  let i = 0;
  while (i < insertions.length) {
    const offset = insertions[i].offset;
    let text = '';
    for (; i < insertions.length && insertions[i].offset === offset; i++) text += insertions[i].text;
    s.appendLeft(offset, SOURCE_OPEN + text + SOURCE_CLOSE);
  }
  return s.toString();
}
