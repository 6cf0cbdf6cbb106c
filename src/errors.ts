/**
 * Errors the user can act on. The core throws these; only src/cli/ turns them into a message, a hint and
 * an exit code (the table in cli/exit-codes.ts). Messages name the value at fault and fit on one line; a
 * throw site gives a hint only when it knows better than the code's default one.
 */

export type ErrorCode =
  | 'usage' // bad flags or arguments
  | 'input' // missing, unreadable, binary or non-C file, unknown log format
  | 'already-instrumented'
  | 'no-selection' // nothing to instrument
  | 'no-manifest' // no manifest where one was looked for
  | 'manifest' // unreadable or mismatched manifest
  | 'template';

export class KcrumbError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** A short suggestion printed after the message (default: the code's, cli/exit-codes.ts). */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'KcrumbError';
  }
}

/** A broken invariant: a bug in kcrumb, never the user's doing (exit 3; the stack with DEBUG=1). */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}
