import { Command, InvalidArgumentError } from 'commander';
import type { CommandContext } from '../context.js';
import { runLocateFreeze, type LocateFlags } from '../run-locate-freeze.js';

export function registerLocateFreeze(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Find the last breadcrumb of ours in a kernel log (serial or netconsole capture, pstore file, ' +
        'dmesg, /dev/kmsg, journalctl -k) and print where it is in the source, what could have printed ' +
        'next, each CPU\'s (or task\'s) trail, and whether the kernel\'s lockup reports agree. Large logs ' +
        'are read from the end. Exit 0: found; 1: none of ours in the log; 2: bad input.',
    )
    .argument('<log>', 'the log file, or - for stdin')
    .option('-m, --manifest <file|dir>', 'manifest file or directory of them (default: .kcrumb/ in the working directory)')
    .option('-n, --trail <n>', 'breadcrumbs shown per CPU or task before its last one', count, 10)
    .option('-C, --context <n>', 'source lines shown around the answer', count, 3)
    .option('--json', 'print one JSON object instead of text')
    .option('--lcov <file>', 'also write the lines whose breadcrumbs printed as lcov data (for genhtml or an editor)')
    .option('--ko <file|dir>', "the module's .ko (or folders of them, comma-separated) to resolve the kernel's report frames to lines with addr2line (default: .ko files beside the sources)")
    .option('-a, --annotate', 'filter mode: print the log with each breadcrumb line annotated with file:line')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb locate-freeze serial.log
  drivers/md/dm-demo.c:34:17: note: last breadcrumb #8 (demo_map): the freeze is at or after this statement
  $ journalctl -k -b -1 | kcrumb locate-freeze -
  $ kcrumb locate-freeze --json --lcov freeze.info /sys/fs/pstore/dmesg-ramoops-0
  $ kcrumb locate-freeze --ko build/dm-remap.ko serial.log
  $ kcrumb locate-freeze --annotate console.log | less
  [  123.456789] kq7x#8@1  <- drivers/md/dm-demo.c:34:17 demo_map`,
    )
    .action(async (log: string, flags: LocateFlags) => {
      ctx.exitCode = await runLocateFreeze(ctx, log, flags);
    });
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100000) throw new InvalidArgumentError('expected a whole number from 0 to 100000');
  return n;
}
