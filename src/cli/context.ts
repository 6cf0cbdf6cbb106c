import type { Output } from './output.js';

/** What a command needs from the outside world; tests pass their own. */
export interface CommandContext {
  output: Output;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  /** Set by the command's action; main() returns it. */
  exitCode: number;
}
