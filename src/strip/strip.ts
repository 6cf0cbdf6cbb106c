import { INSERTED_SPAN, SOURCE_CLOSE, SOURCE_OPEN } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';

/** The breadcrumb's format string inside an inserted span: `"kq7x#87@%d`. */
const CRUMB_IN_SOURCE = /"k[0-9a-z]{3}#\d+@/g;

export interface StripResult {
  text: string;
  /** How many breadcrumbs were removed (inserted braces are not counted). */
  removed: number;
}

/** Does the text still hold anything kcrumb inserted? */
export function hasBreadcrumbs(text: string): boolean {
  return text.includes(SOURCE_OPEN) || text.includes(SOURCE_CLOSE);
}

/**
 * Removes every span kcrumb inserted, markers included, and nothing else. A marker without its partner
 * means the file was edited by hand across a breadcrumb: refuse rather than guess.
 */
export function stripBreadcrumbs(text: string, path: string): StripResult {
  let removed = 0;
  const stripped = text.replace(INSERTED_SPAN, (span) => {
    removed += span.match(CRUMB_IN_SOURCE)?.length ?? 0;
    return '';
  });
  for (const marker of [SOURCE_OPEN, SOURCE_CLOSE]) {
    const at = stripped.indexOf(marker);
    if (at >= 0) {
      const line = stripped.slice(0, at).split('\n').length;
      throw new KcrumbError('input', `${path}:${line}: unpaired kcrumb marker ${marker}; the file was edited across a breadcrumb`, 'remove that breadcrumb by hand, then run strip again');
    }
  }
  return { text: stripped, removed };
}
