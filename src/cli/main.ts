import { Command, CommanderError } from 'commander';
import { KcrumbError } from '../errors.js';
import { VERSION } from '../version.js';
import type { CommandContext } from './context.js';
import { EXIT_BAD_INPUT, EXIT_OK, errorCodeOf, exitCodeFor, hintFor } from './exit-codes.js';
import { processOutput, safeOutput, type Output } from './output.js';

/** Adds a command's arguments, options, help and action to the command main() created for it. */
export type DefineCommand = (command: Command, ctx: CommandContext) => void;

interface CommandEntry {
  name: string;
  aliases?: string[];
  /** The line `kcrumb --help` shows. */
  summary: string;
  /** The command's module, imported only when that command runs (or its help is asked for). */
  load: () => Promise<DefineCommand>;
}

/**
 * Every command. `kcrumb --version` and `kcrumb --help` load none of their modules, and a command loads only
 * its own (tree-sitter only with the commands that parse): start-up is most of a small run.
 */
const COMMANDS: CommandEntry[] = [
  {
    name: 'instrument',
    summary: 'insert numbered KERN_CRIT breadcrumbs into C functions',
    load: async () => (await import('./commands/instrument.js')).registerInstrument,
  },
  {
    name: 'strip',
    aliases: ['revert'],
    summary: 'remove the breadcrumbs again, byte for byte',
    load: async () => (await import('./commands/strip.js')).registerStrip,
  },
  {
    name: 'locate-freeze',
    summary: 'from a log of a frozen kernel to the statement it stopped at',
    load: async () => (await import('./commands/locate-freeze.js')).registerLocateFreeze,
  },
  {
    name: 'zoom',
    summary: 'from a functions- or branches-level log to every-line breadcrumbs in the function that froze',
    load: async () => (await import('./commands/zoom.js')).registerZoom,
  },
  {
    name: 'watch',
    summary: 'follow a capture live; when it goes quiet, say where it froze',
    load: async () => (await import('./commands/watch.js')).registerWatch,
  },
  {
    name: 'hunt',
    summary: 'from a reproduction script to the frozen line: build, boot QEMU, locate, zoom, strip',
    load: async () => (await import('./commands/hunt.js')).registerHunt,
  },
  {
    name: 'doctor',
    summary: 'what the kernel needs for breadcrumbs to survive a freeze, checked on this machine',
    load: async () => (await import('./commands/doctor.js')).registerDoctor,
  },
  {
    name: 'ring',
    summary: 'kcrumb_ring.ko, the in-memory flight recorder of --sink ring: build it for a kernel',
    load: async () => (await import('./commands/ring.js')).registerRing,
  },
];

/** Runs kcrumb with `argv` (without node and script), returns the exit code. Tests call this in-process. */
export async function main(argv: string[], terminal: Output = processOutput(), cwd = process.cwd(), stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const output = safeOutput(terminal);
  const ctx: CommandContext = { output, cwd, stdin, exitCode: EXIT_OK };
  const program = new Command('kcrumb')
    .description('Numbered KERN_CRIT breadcrumbs in kernel C source, and the line a frozen machine stopped at.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    // commander's own errors are reported below, in kcrumb's format
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()), outputError: () => {} });
  const invoked = invokedCommand(argv);
  try {
    for (const entry of COMMANDS) {
      const command = program.command(entry.name).aliases(entry.aliases ?? []).summary(entry.summary);
      if (invoked !== undefined && [entry.name, ...(entry.aliases ?? [])].includes(invoked)) (await entry.load())(command, ctx);
    }
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (thrown) {
    if (thrown instanceof CommanderError && (thrown.exitCode === 0 || HELP_SHOWN.has(thrown.code))) return thrown.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    // an unknown option, a missing argument, a value not among the choices: a usage error like kcrumb's own
    const error = thrown instanceof CommanderError ? usageError(thrown) : thrown;
    reportError(error, output, invoked, argv.includes('--json'));
    return exitCodeFor(error);
  }
}

/** commander's `error: unknown command 'x'\n(Did you mean y?)` as kcrumb's message and hint. */
function usageError(error: CommanderError): KcrumbError {
  const [message, ...rest] = error.message.replace(/^error: /, '').split('\n');
  const suggestion = /^\((Did you mean .*)\)$/.exec(rest.join(' ').trim());
  return new KcrumbError('usage', message, suggestion?.[1]);
}

/** commander showed the help (kcrumb without a command, `kcrumb help`): nothing more to say. */
const HELP_SHOWN = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version']);

/** The command argv runs: its first word (kcrumb's only options before a command are -V and -h), or the one `help` names. */
function invokedCommand(argv: string[]): string | undefined {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * One line `kcrumb: error: ...` (or `internal error`), one `kcrumb: hint: ...`, on stderr; with --json also
 * `{ "error": { code, message, hint, exit } }` on stdout, for the script that reads it.
 */
function reportError(error: unknown, output: Output, command: string | undefined, json: boolean): void {
  const code = errorCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = hintFor(error, command);
  output.err(`kcrumb: ${code === 'internal' ? 'internal error' : 'error'}: ${message}`);
  if (hint) output.err(`kcrumb: hint: ${hint}`);
  if (code === 'internal' && process.env.DEBUG && error instanceof Error && error.stack) output.err(error.stack);
  if (json) output.out(JSON.stringify({ error: { code, message, ...(hint ? { hint } : {}), exit: exitCodeFor(error) } }, null, 2));
}
