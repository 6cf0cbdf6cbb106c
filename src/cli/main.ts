import { Command, CommanderError } from 'commander';
import { KcrumbError } from '../errors.js';
import { VERSION } from '../version.js';
import type { CommandContext } from './context.js';
import { EXIT_BAD_INPUT, EXIT_OK, exitCodeFor } from './exit-codes.js';
import { processOutput, type Output } from './output.js';
import { registerInstrument } from './commands/instrument.js';
import { registerStrip } from './commands/strip.js';
import { registerLocateFreeze } from './commands/locate-freeze.js';
import { registerZoom } from './commands/zoom.js';
import { registerDoctor } from './commands/doctor.js';
import { registerWatch } from './commands/watch.js';

/** Runs kcrumb with `argv` (without node and script), returns the exit code. Tests call this in-process. */
export async function main(argv: string[], output: Output = processOutput(), cwd = process.cwd()): Promise<number> {
  const ctx: CommandContext = { output, cwd, stdin: process.stdin, exitCode: EXIT_OK };
  const program = new Command('kcrumb')
    .description('Numbered KERN_CRIT breadcrumbs in kernel C source, and the line a frozen machine stopped at.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) })
    .showHelpAfterError('(run with --help for usage)');
  registerInstrument(program, ctx);
  registerStrip(program, ctx);
  registerLocateFreeze(program, ctx);
  registerZoom(program, ctx);
  registerWatch(program, ctx);
  registerDoctor(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    reportError(error, output);
    return exitCodeFor(error);
  }
}

function reportError(error: unknown, output: Output): void {
  if (error instanceof KcrumbError) {
    output.err(`kcrumb: error: ${error.message}`);
    if (error.hint) output.err(`kcrumb: hint: ${error.hint}`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.err(`kcrumb: internal error: ${message} (a bug: run with DEBUG=1 and report it)`);
  if (process.env.DEBUG && error instanceof Error && error.stack) output.err(error.stack);
}
