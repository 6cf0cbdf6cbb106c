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

/** Every error the CLI reports: `internal` is any error that is not a KcrumbError (InternalError and the unexpected). */
export type ReportedCode = ErrorCode | 'internal';

/** Per error code: the exit status, and the hint printed when the throw site gives none. */
export const ERRORS: Record<ReportedCode, { exit: number; hint?: string }> = {
  usage: { exit: EXIT_BAD_INPUT, hint: 'kcrumb {command} --help lists the options, with examples' },
  input: { exit: EXIT_BAD_INPUT },
  'already-instrumented': { exit: EXIT_BAD_INPUT, hint: 'strip the breadcrumbs first: kcrumb strip FILE' },
  'no-selection': { exit: EXIT_BAD_INPUT },
  'no-manifest': { exit: EXIT_BAD_INPUT, hint: 'run in the directory where kcrumb instrument ran, or pass --manifest FILE|DIR' },
  manifest: { exit: EXIT_BAD_INPUT },
  template: { exit: EXIT_BAD_INPUT },
  internal: { exit: EXIT_INTERNAL, hint: 'a bug in kcrumb: run it again with DEBUG=1 and report the output' },
};

export function errorCodeOf(error: unknown): ReportedCode {
  return error instanceof KcrumbError ? error.code : 'internal';
}

export function exitCodeFor(error: unknown): number {
  return ERRORS[errorCodeOf(error)].exit;
}

/** The hint to print for `error`: its own, else its code's (`{command}`: the command that ran, if any). */
export function hintFor(error: unknown, command?: string): string | undefined {
  const hint = (error instanceof KcrumbError ? error.hint : undefined) ?? ERRORS[errorCodeOf(error)].hint;
  return hint?.replace('{command} ', command ? `${command} ` : '');
}
