import { KcrumbError, type ErrorCode } from '../errors.js';

/**
 * What kcrumb's exit status means, for scripts and CI:
 *   0  done (locate-freeze: a breadcrumb was found)
 *   1  the answer is "no" (locate-freeze: none of our breadcrumbs in the log; strip --check: breadcrumbs left)
 *   2  bad input or usage: nothing was written
 *   3  internal error (a bug in kcrumb: please report it with DEBUG=1 output)
 */
export const EXIT_OK = 0;
export const EXIT_NO = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  usage: EXIT_BAD_INPUT,
  input: EXIT_BAD_INPUT,
  'already-instrumented': EXIT_BAD_INPUT,
  'no-selection': EXIT_BAD_INPUT,
  manifest: EXIT_BAD_INPUT,
  template: EXIT_BAD_INPUT,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof KcrumbError ? EXIT_BY_CODE[error.code] : EXIT_INTERNAL;
}
