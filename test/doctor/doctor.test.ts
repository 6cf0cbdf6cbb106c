import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diagnose, parseCmdline, parseConsoles, type Finding, type SystemFacts } from '../../src/doctor/doctor.js';
import { runCli } from '../support/run-cli.js';

const sysctls = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, `${v}\n`]));
const DEBIAN_DEFAULTS = { softlockup_panic: 0, hardlockup_panic: 0, nmi_watchdog: 1, panic_on_rcu_stall: 0, hung_task_panic: 0, unknown_nmi_panic: 0, panic: 0, watchdog: 1 };
const byId = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.id, f]));

/** A Debian 12 desktop as installed: screen console only, quiet, every panic knob off. */
const debianDesktop: SystemFacts = {
  release: '6.1.0-18-amd64\n',
  cmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=3c1e ro quiet\n',
  consoles: 'tty0                 -WU (EC p  )    4:7\n',
  printk: '4\t4\t1\t7\n',
  sysctls: sysctls(DEBIAN_DEFAULTS),
  pstoreFiles: [],
  defaultInterface: 'enp3s0',
};

/** A Debian 6.1 VM booted with a serial console, no PMU (nmi_watchdog off), panic knobs as kcrumb's tests set them. */
const serialVm: SystemFacts = {
  release: '6.1.0-56-amd64',
  cmdline: 'console=ttyS0,115200 loglevel=7 panic=-1 rcupdate.rcu_cpu_stall_timeout=3 sysctl.kernel.panic_on_rcu_stall=1 softlockup_panic=1 unknown_nmi_panic',
  consoles: 'ttyS0                -W- (EC p a)    4:64\n',
  printk: '7 4 1 7',
  sysctls: sysctls({ ...DEBIAN_DEFAULTS, softlockup_panic: 1, nmi_watchdog: 0, panic_on_rcu_stall: 1, unknown_nmi_panic: 1, panic: -1 }),
  pstoreFiles: ['dmesg-ramoops-0'],
};

/** 6.12 with the 8250 driver converted to nbcon: flag N, printed by the pr/ttyS0 kthread. */
const nbcon612: SystemFacts = {
  release: '6.12.48+deb13-amd64',
  cmdline: 'BOOT_IMAGE=/vmlinuz console=tty0 console=ttyS0,115200n8',
  consoles: 'ttyS0                -W- (EC Np a)   4:64\ntty0                 -WU (E  p  )    4:7\n',
  printk: '7 4 1 7',
  sysctls: sysctls(DEBIAN_DEFAULTS),
};

describe('doctor core', () => {
  it('with kcrumb_ring loaded, a hang that does not panic is bad: the rings print only on a panic', () => {
    const desktop = byId(diagnose({ ...debianDesktop, ringLoaded: true }).findings);
    assert.equal(desktop.ring.severity, 'bad');
    assert.match(desktop.ring.message, /a soft lockup, an RCU stall, a hung task, an NMI from outside would not panic/);
    assert.match(desktop.ring.fix!, /sysctl -w kernel.hung_task_panic=1/);
    // the serial VM panics on all but a hung task
    const vm = byId(diagnose({ ...serialVm, ringLoaded: true }).findings);
    assert.equal(vm.ring.severity, 'bad');
    assert.match(vm.ring.message, /and a hung task would not panic/);
    const all = byId(diagnose({ ...serialVm, ringLoaded: true, sysctls: { ...serialVm.sysctls, hung_task_panic: '1\n' } }).findings);
    assert.equal(all.ring.severity, 'ok');
    assert.equal(byId(diagnose(serialVm).findings).ring, undefined, 'no ring finding without the module');
  });

  it('parses /proc/consoles and the command line', () => {
    assert.deepEqual(parseConsoles(nbcon612.consoles!), [{ name: 'ttyS0', flags: 'EC Np a' }, { name: 'tty0', flags: 'E  p  ' }]);
    const { args, consoles } = parseCmdline('console=tty0 console=ttyS0,115200 quiet loglevel=3 -- --init-arg=1');
    assert.deepEqual(consoles, ['tty0', 'ttyS0,115200']);
    assert.equal(args.get('quiet'), '');
    assert.equal(args.has('--init-arg'), false, "init's arguments are not the kernel's");
  });

  it('Debian desktop defaults: no console leaves the machine, every panic knob off', () => {
    const report = diagnose(debianDesktop);
    const f = byId(report.findings);
    assert.equal(f.console.severity, 'bad');
    assert.match(f.console.message, /\(tty0\)/);
    assert.equal(f.loglevel.severity, 'ok', 'quiet (4) still shows KERN_CRIT');
    for (const knob of ['softlockup_panic', 'hardlockup_panic', 'panic_on_rcu_stall', 'hung_task_panic', 'unknown_nmi_panic']) {
      assert.equal(f[knob].severity, 'warn', knob);
    }
    assert.equal(f.panic.severity, 'info');
    assert.deepEqual(report.sysctlCommands, [
      'sysctl -w kernel.softlockup_panic=1',
      'sysctl -w kernel.hardlockup_panic=1',
      'sysctl -w kernel.panic_on_rcu_stall=1',
      'sysctl -w kernel.hung_task_panic=1',
      'sysctl -w kernel.unknown_nmi_panic=1',
    ]);
    assert.match(report.netconsole.sender, /^modprobe netconsole netconsole=\+6665@<this machine's IP>\/enp3s0,6666@<receiver IP>\/$/);
    assert.ok(report.kernelArgs.includes('console=ttyS0,115200') && report.kernelArgs.includes('softlockup_panic=1'));
  });

  it('a VM with console=ttyS0: the console is fine, no hard-lockup detector, a pstore record to read', () => {
    const report = diagnose(serialVm, { receiver: '10.0.2.2', port: 6667 });
    const f = byId(report.findings);
    assert.equal(f.console.severity, 'ok');
    assert.equal(f.nbcon, undefined, 'no word on nbcon for a 6.1 kernel');
    assert.equal(f.softlockup_panic.severity, 'ok');
    assert.equal(f.nmi_watchdog.severity, 'info');
    assert.equal(f.hardlockup_panic, undefined, 'no hard-lockup detector, so its panic knob is moot');
    assert.equal(f.panic.severity, 'ok');
    assert.equal(f.rcu_cpu_stall_timeout, undefined);
    assert.equal(f['pstore-record'].fix, 'kcrumb locate-freeze /sys/fs/pstore/dmesg-ramoops-0');
    assert.deepEqual(report.sysctlCommands, ['sysctl -w kernel.hung_task_panic=1']);
    assert.match(report.netconsole.sender, /6667@10\.0\.2\.2\/$/);
    assert.ok(!report.findings.some((x) => x.severity === 'bad'));
  });

  it('6.12 with an nbcon serial console: warns that a kthread prints it and a panic must flush it', () => {
    const f = byId(diagnose(nbcon612).findings);
    assert.equal(f.console.severity, 'ok');
    assert.equal(f.nbcon.severity, 'warn');
    assert.match(f.nbcon.message, /^ttyS0: nbcon console \(flag N\), printed by a kernel thread/);
    assert.match(f.nbcon.fix!, /panic/);
    const legacy = byId(diagnose({ ...nbcon612, consoles: 'ttyS0                -W- (EC  p a)    4:64\n' }).findings);
    assert.equal(legacy.nbcon.severity, 'ok');
  });

  it('loglevel=1 hides KERN_CRIT: bad, with the fix', () => {
    const f = byId(diagnose({ ...serialVm, cmdline: 'console=ttyS0,115200 loglevel=1', printk: '1 4 1 7' }).findings);
    assert.equal(f.loglevel.severity, 'bad');
    assert.match(f.loglevel.fix!, /echo 7 > \/proc\/sys\/kernel\/printk.*loglevel=7 instead of loglevel=1/);
    assert.equal(byId(diagnose({ ...serialVm, cmdline: 'loglevel=1 ignore_loglevel', printk: '1 4 1 7' }).findings).loglevel.severity, 'ok');
    assert.equal(byId(diagnose({ sysctls: {}, cmdline: 'loglevel=2' }).findings).loglevel.severity, 'bad', 'from the command line alone');
  });

  it('printk.time=0 and nothing readable', () => {
    assert.equal(byId(diagnose({ ...serialVm, cmdline: 'console=ttyS0 printk.time=0' }).findings)['printk.time'].severity, 'warn');
    const none = diagnose({ sysctls: {} });
    assert.deepEqual(none.findings, [], 'no facts, no findings');
    assert.equal(none.sysctlCommands.length, 5, 'off the target: every runtime knob');
  });
});

describe('kcrumb doctor', () => {
  it('reads a copy of /proc given with --proc, and exits 1 when something must change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcrumb-doctor-'));
    mkdirSync(join(dir, 'proc/sys/kernel'), { recursive: true });
    mkdirSync(join(dir, 'proc/net'), { recursive: true });
    writeFileSync(join(dir, 'proc/cmdline'), debianDesktop.cmdline!);
    writeFileSync(join(dir, 'proc/consoles'), debianDesktop.consoles!);
    writeFileSync(join(dir, 'proc/sys/kernel/printk'), debianDesktop.printk!);
    writeFileSync(join(dir, 'proc/sys/kernel/osrelease'), debianDesktop.release!);
    for (const [k, v] of Object.entries(DEBIAN_DEFAULTS)) writeFileSync(join(dir, 'proc/sys/kernel', k), `${v}\n`);
    writeFileSync(join(dir, 'proc/net/route'), 'Iface\tDestination\tGateway\nwlp2s0\t00000000\t0101A8C0\n');
    const run = await runCli(['doctor', '--proc', 'proc', '--sys', 'nosys'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^kcrumb doctor: Linux 6\.1\.0-18-amd64 /);
    assert.match(run.stdout, /^ {2}bad {3}console: no serial or network console enabled \(tty0\)/m);
    assert.match(run.stdout, /netconsole: {2}modprobe netconsole netconsole=\+6665@<this machine's IP>\/wlp2s0,/);
    const json = JSON.parse((await runCli(['doctor', '--json', '--proc', 'proc', '--sys', 'nosys'], dir)).stdout);
    assert.equal(json.release, '6.1.0-18-amd64');
    assert.ok(json.findings.some((f: Finding) => f.id === 'console' && f.severity === 'bad'));
  });

  it("on this machine's real /proc", async () => {
    const run = await runCli(['doctor', '--json'], process.cwd());
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.read.proc, '/proc');
    assert.match(json.release, /^\d+\.\d+/, 'read /proc/sys/kernel/osrelease');
    assert.equal(run.code, json.findings.some((f: Finding) => f.severity === 'bad') ? 1 : 0);
    assert.ok(json.findings.some((f: Finding) => f.id === 'softlockup_panic'), 'read the panic sysctls');
  });
});
