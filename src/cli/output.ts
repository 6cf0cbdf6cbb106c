/** The terminal edge: streams, colour (off with NO_COLOR or when not a TTY). */

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Writes to stderr as is (no newline): a progress line redrawn with \r. */
  status(text: string): void;
  color: boolean;
  /** True when stderr is a terminal, so a progress line may be redrawn. */
  interactive: boolean;
}

export function processOutput(): Output {
  // `kcrumb locate-freeze --annotate log | head`: a closed pipe means the reader has all it wants.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
  const color = !process.env.NO_COLOR && process.stdout.isTTY === true && process.env.TERM !== 'dumb';
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
    status: (text) => process.stderr.write(text),
    color,
    interactive: process.stderr.isTTY === true,
  };
}

const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] };
export type Style = keyof typeof codes;

export function paint(output: Pick<Output, 'color'>, style: Style, text: string): string {
  if (!output.color) return text;
  const [open, close] = codes[style];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}
