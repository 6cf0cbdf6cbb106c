/**
 * `kcrumb doctor`'s core: from the text of a machine's /proc files to what stands between a breadcrumb
 * and the capture when that machine freezes, and what to change. Facts relied on are in
 * docs/capturing-logs.md and docs/printk-in-a-freeze.md.
 */

/** What the edge read; every field is the file's text, absent when the file could not be read. */
export interface SystemFacts {
  /** /proc/sys/kernel/osrelease (uname -r). */
  release?: string;
  /** /proc/cmdline. */
  cmdline?: string;
  /** /proc/consoles. */
  consoles?: string;
  /** /proc/sys/kernel/printk: console, default, minimum, boot-time default loglevels. */
  printk?: string;
  /** /proc/sys/kernel/<name> for the names in SYSCTLS. */
  sysctls: Record<string, string | undefined>;
  /** Names of the files in /sys/fs/pstore, undefined when it is not mounted. */
  pstoreFiles?: string[];
  /** /sys/module/ramoops/parameters/mem_size, when ramoops is loaded. */
  ramoopsSize?: string;
  /** /sys/module/netconsole exists (loaded or built in). */
  netconsoleLoaded?: boolean;
  /** Interface of the default route (/proc/net/route), for the netconsole line. */
  defaultInterface?: string;
  /** /sys/module/kcrumb_ring exists: --sink ring's flight recorder is loaded. */
  ringLoaded?: boolean;
}

/** The sysctls doctor reads, under /proc/sys/kernel/. */
export const SYSCTLS = [
  'softlockup_panic',
  'hardlockup_panic',
  'nmi_watchdog',
  'panic_on_rcu_stall',
  'hung_task_panic',
  'unknown_nmi_panic',
  'panic',
  'watchdog',
] as const;

export type Severity = 'ok' | 'warn' | 'bad' | 'info';

export interface Finding {
  /** Stable id for scripts: `console`, `loglevel`, `nbcon`, `softlockup_panic`, ... */
  id: string;
  severity: Severity;
  message: string;
  /** What to change, when something should. */
  fix?: string;
}

export interface DoctorReport {
  release?: string;
  /** Kernel arguments for a freeze hunt. */
  kernelArgs: string[];
  /** The same knobs at run time, for the boot already running. */
  sysctlCommands: string[];
  netconsole: { sender: string; receiver: string };
  pstoreArgs: string;
  findings: Finding[];
}

/** Turn each kind of hang into a panic, which flushes the console and stores a pstore record. */
export const HANG_TO_PANIC_ARGS = [
  'softlockup_panic=1',
  'nmi_watchdog=panic',
  'rcupdate.rcu_cpu_stall_timeout=3',
  'sysctl.kernel.panic_on_rcu_stall=1',
  'hung_task_panic=1',
  'unknown_nmi_panic',
  'panic=-1',
];

/** Kernel arguments for a freeze hunt on serial console `serial` (ttyS0): breadcrumbs reach it, hangs panic. */
export function freezeHuntArgs(serial: string): string[] {
  return [`console=${serial},115200`, 'loglevel=7', ...HANG_TO_PANIC_ARGS];
}

const RUNTIME: [string, string][] = [
  ['softlockup_panic', '1'],
  ['hardlockup_panic', '1'],
  ['panic_on_rcu_stall', '1'],
  ['hung_task_panic', '1'],
  ['unknown_nmi_panic', '1'],
];

const SERIAL = /^(ttyS|ttyAMA|ttyPS|ttymxc|ttySAC|ttyMSM|ttyUSB|ttyHS|hvc|ttysclp|ttyO|ttyLP|ttyGS)\d+$/;
const RAMOOPS_ARGS = 'memmap=2M$0x1e000000 ramoops.mem_address=0x1e000000 ramoops.mem_size=0x200000 ramoops.record_size=0x20000';

export interface ConsoleEntry {
  name: string;
  flags: string;
}

/** `ttyS0                -W- (EC  p a)    4:64` -> name ttyS0, flags `EC  p a`. */
export function parseConsoles(text: string): ConsoleEntry[] {
  return text
    .split('\n')
    .map((line) => /^(\S+)\s+[-R][-W][-U]\s+\(([^)]*)\)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1], flags: m[2] }));
}

/** `6.1.0-18-amd64` -> [6, 1]. */
export function kernelVersion(release: string | undefined): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Kernel arguments as name -> value (the last one wins; `quiet` -> ''). Stops at `--` (init's arguments). */
export function parseCmdline(cmdline: string): { args: Map<string, string>; consoles: string[] } {
  const args = new Map<string, string>();
  const consoles: string[] = [];
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word === '--') break;
    if (!word) continue;
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    args.set(name, value);
    if (name === 'console') consoles.push(value);
  }
  return { args, consoles };
}

function intOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = parseInt(text.trim(), 10);
  return Number.isNaN(n) ? undefined : n;
}

export interface DoctorOptions {
  /** Receiver address for the netconsole line (default a placeholder). */
  receiver?: string;
  /** UDP port on the receiver. */
  port?: number;
}

/** What to set, and what is wrong on the machine the facts come from (no findings without facts). */
export function diagnose(facts: SystemFacts, options: DoctorOptions = {}): DoctorReport {
  const findings: Finding[] = [];
  const cmd = facts.cmdline !== undefined ? parseCmdline(facts.cmdline) : undefined;
  const version = kernelVersion(facts.release);
  const port = options.port ?? 6666;
  const serialArg = cmd?.consoles.map((c) => c.split(',')[0]).find((c) => SERIAL.test(c)) ?? 'ttyS0';
  const kernelArgs = freezeHuntArgs(serialArg);
  const dev = facts.defaultInterface ?? 'eth0';
  const netconsole = {
    sender: `modprobe netconsole netconsole=+6665@<this machine's IP>/${dev},${port}@${options.receiver ?? '<receiver IP>'}/`,
    receiver: `kcrumb watch --udp ${port} --bind 0.0.0.0 --save netconsole.log`,
  };

  if (facts.consoles !== undefined) checkConsoles(parseConsoles(facts.consoles), version, findings, Boolean(facts.netconsoleLoaded));
  if (facts.printk !== undefined || cmd) checkLoglevel(facts.printk, cmd?.args, findings);
  if (cmd) checkCmdline(cmd.args, findings);
  checkPanicKnobs(facts.sysctls, cmd?.args, findings);
  if (facts.ringLoaded) checkRing(facts.sysctls, findings);
  if (facts.pstoreFiles !== undefined || facts.ramoopsSize !== undefined || cmd) checkPstore(facts, cmd?.args, findings);

  return {
    release: facts.release?.trim(),
    kernelArgs,
    sysctlCommands: runtimeCommands(facts.sysctls),
    netconsole,
    pstoreArgs: RAMOOPS_ARGS,
    findings,
  };
}

/** `sysctl -w` for each knob not set yet (every one when nothing was read, e.g. off the target). */
function runtimeCommands(sysctls: Record<string, string | undefined>): string[] {
  const known = Object.values(sysctls).some((v) => v !== undefined);
  // without a hard-lockup detector (nmi_watchdog=0) its panic knob changes nothing
  const moot = (name: string) => name === 'hardlockup_panic' && intOf(sysctls.nmi_watchdog) === 0;
  return RUNTIME.filter(([name, value]) => !known || (sysctls[name] !== undefined && sysctls[name]!.trim() !== value && !moot(name))).map(
    ([name, value]) => `sysctl -w kernel.${name}=${value}`,
  );
}

function checkConsoles(consoles: ConsoleEntry[], version: [number, number] | undefined, findings: Finding[], netconsoleLoaded: boolean): void {
  const enabled = consoles.filter((c) => c.flags.includes('E'));
  const outside = enabled.filter((c) => SERIAL.test(c.name) || c.name.startsWith('netcon'));
  if (outside.length === 0) {
    findings.push({
      id: 'console',
      severity: 'bad',
      message: `no serial or network console enabled (${enabled.map((c) => c.name).join(', ') || 'none'}): breadcrumbs die with the machine`,
      fix: 'boot with console=ttyS0,115200 (the last console= becomes /dev/console), or load netconsole (below), or set up ramoops',
    });
  } else {
    const names = outside.map((c) => c.name).join(', ');
    findings.push({ id: 'console', severity: 'ok', message: `${names}: enabled console(s) that leave the machine` });
  }
  if (netconsoleLoaded && !consoles.some((c) => c.name.startsWith('netcon'))) {
    findings.push({
      id: 'netconsole',
      severity: 'warn',
      message: 'the netconsole module is loaded but registered no console: its netconsole= target was not set or did not come up',
      fix: 'rmmod netconsole, then modprobe it with the netconsole= line below',
    });
  }
  const threaded = outside.filter((c) => c.flags.includes('N'));
  if (threaded.length > 0) {
    findings.push({
      id: 'nbcon',
      severity: 'warn',
      message:
        `${threaded.map((c) => c.name).join(', ')}: nbcon console (flag N), printed by a kernel thread: a CPU frozen with ` +
        'interrupts off can starve it, and the last breadcrumbs stay in RAM',
      fix: 'make every hang a panic (the knobs below): the panic flushes the console atomically',
    });
  } else if (outside.length > 0 && version && (version[0] > 6 || (version[0] === 6 && version[1] >= 12))) {
    findings.push({ id: 'nbcon', severity: 'ok', message: 'no nbcon console: printk writes to the console from the printing CPU' });
  }
}

function checkLoglevel(printk: string | undefined, args: Map<string, string> | undefined, findings: Finding[]): void {
  const level = intOf(printk?.trim().split(/\s+/)[0]);
  const ignore = args?.has('ignore_loglevel') || args?.get('printk.ignore_loglevel') === '1' || args?.get('printk.ignore_loglevel') === 'Y';
  if (ignore) {
    findings.push({ id: 'loglevel', severity: 'ok', message: 'ignore_loglevel: every message reaches the console' });
    return;
  }
  if (level !== undefined) {
    if (level > 2) findings.push({ id: 'loglevel', severity: 'ok', message: `console loglevel ${level}: KERN_CRIT (2) breadcrumbs reach the console` });
    else {
      findings.push({
        id: 'loglevel',
        severity: 'bad',
        message: `console loglevel ${level}: KERN_CRIT (2) breadcrumbs are kept from the console (they need a loglevel above 2)`,
        fix: `echo 7 > /proc/sys/kernel/printk now; boot with loglevel=7 instead of loglevel=${args?.get('loglevel') ?? level}`,
      });
    }
    return;
  }
  const boot = intOf(args?.get('loglevel'));
  if (boot !== undefined && boot <= 2) {
    findings.push({ id: 'loglevel', severity: 'bad', message: `loglevel=${boot} on the command line hides KERN_CRIT breadcrumbs`, fix: 'boot with loglevel=7' });
  }
}

function checkCmdline(args: Map<string, string>, findings: Finding[]): void {
  const time = args.get('printk.time');
  if (time === '0' || time === 'N' || time === 'n') {
    findings.push({
      id: 'printk.time',
      severity: 'warn',
      message: 'printk.time=0: no timestamps, so locate-freeze cannot tell a livelock from a stop, nor when a CPU went quiet',
      fix: 'drop printk.time=0',
    });
  }
  if (args.get('nmi_watchdog') === '0') {
    findings.push({ id: 'nmi_watchdog', severity: 'warn', message: 'nmi_watchdog=0: no hard-lockup detector', fix: 'boot with nmi_watchdog=panic' });
  }
}

function checkPanicKnobs(sysctls: Record<string, string | undefined>, args: Map<string, string> | undefined, findings: Finding[]): void {
  const value = (name: string) => intOf(sysctls[name]);
  const want = (name: string, why: string, arg: string) => {
    const v = value(name);
    if (v === undefined) return;
    if (v >= 1) findings.push({ id: name, severity: 'ok', message: `kernel.${name}=${v}: ${why}` });
    else findings.push({ id: name, severity: 'warn', message: `kernel.${name}=0: ${why.replace(/^panics/, 'does not panic')}`, fix: `sysctl -w kernel.${name}=1, or boot with ${arg}` });
  };
  want('softlockup_panic', 'panics on a soft lockup (a CPU spinning in the kernel without scheduling)', 'softlockup_panic=1');
  const nmi = value('nmi_watchdog');
  if (nmi === 0) {
    findings.push({
      id: 'nmi_watchdog',
      severity: 'info',
      message:
        'kernel.nmi_watchdog=0: no hard-lockup detector (none without a PMU, as in most VMs): a lone CPU spinning with interrupts off is noticed by ' +
        'nothing; the RCU stall check of another CPU or an NMI from outside must report it',
      fix: 'keep unknown_nmi_panic on and send an NMI (QEMU monitor `nmi`, virsh inject-nmi, the BMC)',
    });
  } else if (nmi !== undefined) {
    want('hardlockup_panic', 'panics on a hard lockup (a CPU stuck with interrupts off)', 'nmi_watchdog=panic');
  }
  want('panic_on_rcu_stall', 'panics after an RCU stall report', 'sysctl.kernel.panic_on_rcu_stall=1');
  want('hung_task_panic', 'panics when a task stays blocked in D state past hung_task_timeout_secs', 'hung_task_panic=1');
  want('unknown_nmi_panic', 'panics on an NMI from the hypervisor or the BMC', 'unknown_nmi_panic');
  if (value('watchdog') === 0) {
    findings.push({ id: 'watchdog', severity: 'warn', message: 'kernel.watchdog=0: the lockup detectors are off', fix: 'sysctl -w kernel.watchdog=1' });
  }
  const panic = value('panic');
  if (panic !== undefined) {
    findings.push(
      panic === 0
        ? { id: 'panic', severity: 'info', message: 'kernel.panic=0: after a panic the machine waits forever (fine for a serial capture; ramoops needs the reboot)', fix: 'boot with panic=-1 or panic=10 to reboot' }
        : { id: 'panic', severity: 'ok', message: `kernel.panic=${panic}: reboots ${panic < 0 ? 'at once' : `${panic} s`} after a panic` },
    );
  }
  if (args && !args.has('rcupdate.rcu_cpu_stall_timeout') && value('panic_on_rcu_stall') !== undefined) {
    findings.push({ id: 'rcu_cpu_stall_timeout', severity: 'info', message: 'RCU stalls are reported after the default timeout (21 s on Debian)', fix: 'boot with rcupdate.rcu_cpu_stall_timeout=3 for a quicker report' });
  }
}

/** The hang each panic knob turns into a panic, for --sink ring (whose rings print only on a panic or oops). */
const HANG_PANICS: [string, string][] = [
  ['softlockup_panic', 'a soft lockup'],
  ['panic_on_rcu_stall', 'an RCU stall'],
  ['hung_task_panic', 'a hung task'],
  ['unknown_nmi_panic', 'an NMI from outside'],
];

function checkRing(sysctls: Record<string, string | undefined>, findings: Finding[]): void {
  const missing = HANG_PANICS.filter(([name]) => sysctls[name] !== undefined && (intOf(sysctls[name]) ?? 0) < 1);
  if (missing.length === 0) {
    findings.push({ id: 'ring', severity: 'ok', message: 'kcrumb_ring is loaded, and every kind of hang checked here ends in a panic, which prints its rings' });
    return;
  }
  findings.push({
    id: 'ring',
    severity: 'bad',
    message:
      `kcrumb_ring is loaded (--sink ring): its breadcrumbs reach the console only when the kernel panics or oopses, and ` +
      `${missing.map(([, hang]) => hang).join(', ')} would not panic: such a freeze leaves no trail`,
    fix: missing.map(([name]) => `sysctl -w kernel.${name}=1`).join('; ') + ' (and an NMI from the hypervisor for a CPU stuck with interrupts off)',
  });
}

function checkPstore(facts: SystemFacts, args: Map<string, string> | undefined, findings: Finding[]): void {
  const records = (facts.pstoreFiles ?? []).filter((name) => name.startsWith('dmesg-'));
  if (records.length > 0) {
    findings.push({
      id: 'pstore-record',
      severity: 'info',
      message: `pstore holds ${records.length} record(s) from an earlier panic: ${records.join(', ')}`,
      fix: `kcrumb locate-freeze /sys/fs/pstore/${records[0]}`,
    });
  }
  const size = intOf(facts.ramoopsSize);
  if ((size ?? 0) > 0 || args?.has('ramoops.mem_address')) {
    findings.push({ id: 'ramoops', severity: 'ok', message: 'ramoops is set up: a panic leaves dmesg-ramoops-N in /sys/fs/pstore after a warm reboot' });
  } else {
    findings.push({
      id: 'ramoops',
      severity: 'info',
      message: 'no ramoops: without a serial or network console, nothing survives the freeze',
      fix: `if you need it: boot with ${RAMOOPS_ARGS} and panic=10 (a panic is what writes the record)`,
    });
  }
}
