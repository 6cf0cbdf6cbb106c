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

/** Colour codes (SGR), kept when colour is on, and the control characters no message of ours holds. */
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text from logs, manifests, sources and /proc is printed, and a raw ESC, OSC 52 (the clipboard) or BEL
 * in it must not reach the terminal: every control character but newline and tab becomes `?`, and
 * colour codes pass only when kcrumb itself paints (they are ours or harmless).
 */
export function terminalSafe(text: string, color: boolean): string {
  return text.replace(CONTROL, (m) => (m.length > 1 && color ? m : '?' + m.slice(1)));
}

/** The same output, with every message made terminal-safe (status lines are kcrumb's own and pass). */
export function safeOutput(output: Output): Output {
  return {
    ...output,
    out: (text) => output.out(terminalSafe(text, output.color)),
    err: (text) => output.err(terminalSafe(text, output.color)),
    status: (text) => output.status(text),
  };
}
