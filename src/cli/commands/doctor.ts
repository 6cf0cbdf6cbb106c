import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { diagnose, SYSCTLS, type DoctorReport, type Severity, type SystemFacts } from '../../doctor/doctor.js';
import { KcrumbError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { EXIT_NO, EXIT_OK } from '../exit-codes.js';
import { paint, type Output, type Style } from '../output.js';

interface DoctorFlags {
  json?: boolean;
  proc: string;
  sys: string;
  receiver?: string;
  port: number;
}

export function registerDoctor(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Print the kernel arguments, sysctls, netconsole line and pstore settings that get breadcrumbs out of a ' +
        'freezing machine, and check this machine: /proc/cmdline, /proc/consoles (a serial or network console; ' +
        'flag N = nbcon, printed by a kernel thread a frozen CPU can starve), /proc/sys/kernel/printk (the console ' +
        'loglevel must be above 2 for KERN_CRIT), the panic sysctls, pstore. Run it on the machine that will freeze. ' +
        'Exit 0: nothing stops breadcrumbs; 1: something must change (marked bad).',
    )
    .option('--json', 'print one JSON object instead of text')
    .option('--proc <dir>', 'read these files from a copy of /proc (taken on the target) instead', '/proc')
    .option('--sys <dir>', 'and of /sys', '/sys')
    .option('--receiver <addr>', 'IP of the machine that receives netconsole, for the netconsole line')
    .option('--port <n>', 'UDP port netconsole sends to', port, 6666)
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb doctor
  kcrumb doctor: Linux 6.1.0-18-amd64 (read /proc and /sys)
    ok    console: ttyS0: enabled console(s) that leave the machine
    ok    loglevel: console loglevel 4: KERN_CRIT (2) breadcrumbs reach the console
    warn  softlockup_panic: kernel.softlockup_panic=0: does not panic on a soft lockup ...
          fix: sysctl -w kernel.softlockup_panic=1, or boot with softlockup_panic=1
  ...
  $ kcrumb doctor --receiver 192.168.1.10 --json
  $ ssh target 'tar -C / -ch proc/cmdline proc/consoles proc/sys/kernel 2>/dev/null' | tar -x -C snap && kcrumb doctor --proc snap/proc`,
    )
    .action((flags: DoctorFlags) => {
      ctx.exitCode = runDoctor(ctx, flags);
    });
}

function runDoctor(ctx: CommandContext, flags: DoctorFlags): number {
  const proc = resolve(ctx.cwd, flags.proc);
  if (!isDirectory(proc)) throw new KcrumbError('input', `--proc ${flags.proc}: no such directory`, 'give /proc, or a copy of it taken on the target');
  // It goes into a modprobe line the user pastes into a root shell: an address, nothing else.
  if (flags.receiver !== undefined && !isIP(flags.receiver)) throw new KcrumbError('usage', `--receiver ${JSON.stringify(flags.receiver)}: not an IP address`);
  const sys = resolve(ctx.cwd, flags.sys);
  const report = diagnose(readFacts(proc, sys), { receiver: flags.receiver, port: flags.port });
  const bad = report.findings.some((f) => f.severity === 'bad');
  if (flags.json) ctx.output.out(JSON.stringify({ ...report, read: { proc, sys } }, null, 2));
  else printReport(ctx.output, report, proc, sys);
  return bad ? EXIT_NO : EXIT_OK;
}

/** Reads what exists; a file that cannot be read is simply absent (doctor says less, never fails). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function readFacts(proc: string, sys: string): SystemFacts {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  };
  const sysctls: Record<string, string | undefined> = {};
  for (const name of SYSCTLS) sysctls[name] = read(join(proc, 'sys/kernel', name));
  let pstoreFiles: string[] | undefined;
  try {
    pstoreFiles = readdirSync(join(sys, 'fs/pstore'));
  } catch {
    pstoreFiles = undefined;
  }
  const route = read(join(proc, 'net/route'));
  const defaultRoute = route?.split('\n').slice(1).map((line) => line.split(/\s+/)).find((cols) => cols[1] === '00000000');
  return {
    release: read(join(proc, 'sys/kernel/osrelease')),
    cmdline: read(join(proc, 'cmdline')),
    consoles: read(join(proc, 'consoles')),
    printk: read(join(proc, 'sys/kernel/printk')),
    sysctls,
    pstoreFiles,
    ramoopsSize: read(join(sys, 'module/ramoops/parameters/mem_size')),
    netconsoleLoaded: existsSync(join(sys, 'module/netconsole')),
    ringLoaded: existsSync(join(sys, 'module/kcrumb_ring')),
    defaultInterface: defaultRoute?.[0],
  };
}

const STYLE: Record<Severity, Style> = { ok: 'green', warn: 'yellow', bad: 'red', info: 'cyan' };

function printReport(output: Output, report: DoctorReport, proc: string, sys: string): void {
  const say = (text: string) => output.out(text);
  say(`kcrumb doctor: ${report.release ? `Linux ${report.release}` : 'kernel release unknown'} (read ${proc} and ${sys})`);
  if (report.findings.length === 0) say('  nothing to check here: no kernel files could be read; the settings below still apply');
  for (const f of report.findings) {
    say(`  ${paint(output, STYLE[f.severity], f.severity.padEnd(4))}  ${f.id}: ${f.message}`);
    if (f.fix && f.severity !== 'ok') say(`        ${paint(output, 'dim', 'fix:')} ${f.fix}`);
  }
  say('');
  say('What the kernel needs for breadcrumbs to survive a freeze:');
  say(`  boot with:   ${report.kernelArgs.join(' ')}`);
  if (report.sysctlCommands.length > 0) say(`  or now:      ${report.sysctlCommands.join('; ')}   (as root, until the next boot)`);
  say(`  netconsole:  ${report.netconsole.sender}`);
  say(`  receiver:    ${report.netconsole.receiver}`);
  say(`  pstore:      ${report.pstoreArgs}   (with the panic knobs above: a panic writes the record)`);
  say('Details: docs/capturing-logs.md');
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number from 1 to 65535');
  return n;
}
