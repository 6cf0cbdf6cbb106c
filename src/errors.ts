/**
 * Errors the user can act on. The core throws these; only src/cli/ turns them into a message and an
 * exit code (see cli/exit-codes.ts). Messages name the value at fault and fit on one line.
 */

export type ErrorCode =
  | 'usage' // bad flags or arguments
  | 'input' // missing, unreadable, binary or non-C file, unknown log format
  | 'already-instrumented'
  | 'no-selection' // nothing to instrument
  | 'manifest' // missing, unreadable or mismatched manifest
  | 'template';

export class KcrumbError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** A short suggestion printed after the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'KcrumbError';
  }
}
