/**
 * One boot of a throwaway guest: qemu-system-x86_64 with the serial console in a file, no disk, no
 * network, -no-reboot (the kernel's panic=-1 then ends QEMU). Optionally a monitor socket: when the
 * console stays silent for `silenceS` seconds after `silenceAfter` appeared, an NMI goes to every CPU,
 * so a machine frozen where no detector looks (interrupts off on the only CPU, TCG without a PMU) still
 * says what each CPU was doing. The time limit kills QEMU by its PID.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killer } from './process.js';

export interface BootOptions {
  kernel: string;
  initrd: string;
  append: string[];
  serialLog: string;
  /** QEMU's own output and its arguments go beside the serial log, under this base name. */
  logBase: string;
  accel?: 'kvm' | 'tcg';
  smp?: number;
  memoryMb?: number;
  timeoutS: number;
  /** Seconds of console silence (after `silenceAfter` was printed) before an NMI; none when absent. */
  silenceS?: number;
  silenceAfter?: string;
  signal?: AbortSignal;
  /** Called with each new chunk of the serial log (progress). */
  onSerial?: (text: string) => void;
}

export interface BootResult {
  /** panic: the kernel panicked and QEMU left; poweroff: the guest powered off; timeout: killed. */
  exitedBy: 'panic' | 'poweroff' | 'timeout' | 'aborted' | 'other';
  ms: number;
  /** ms after the start the NMI was sent, when it was. */
  nmiAtMs?: number;
}

const POLL_MS = 200;

export async function bootGuest(options: BootOptions): Promise<BootResult> {
  const monitorDir = options.silenceS !== undefined ? mkdtempSync(join(tmpdir(), 'kcrumb-mon-')) : undefined;
  const monitor = monitorDir && join(monitorDir, 'monitor.sock'); // sun_path holds 108 bytes: not under a deep folder
  const accel = options.accel ?? 'tcg';
  const args = [
    '-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(options.memoryMb ?? 512), '-smp', String(options.smp ?? 2),
    '-no-user-config', '-nodefaults', '-display', 'none', '-no-reboot',
    '-monitor', monitor ? `unix:${monitor},server,nowait` : 'none',
    '-kernel', options.kernel, '-initrd', options.initrd, '-append', options.append.join(' '),
    '-serial', `file:${options.serialLog}`,
  ];
  writeFileSync(`${options.logBase}.qemu-args.json`, JSON.stringify(args, null, 1) + '\n');
  writeFileSync(options.serialLog, '');
  const started = Date.now();
  const out = openSync(`${options.logBase}.qemu.out`, 'w');
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', out, out] });
  let timedOut = false;
  const disarm = killer(qemu, { timeoutMs: options.timeoutS * 1000, signal: options.signal }, () => (timedOut = true));
  const watch = watchSerial(options, () => (monitor ? sendMonitor(monitor, 'nmi') : Promise.resolve()), started);
  try {
    await new Promise<void>((resolvePromise, reject) => {
      qemu.on('error', reject);
      qemu.on('exit', () => resolvePromise());
    });
  } finally {
    disarm();
    watch.stop();
    closeSync(out);
    if (monitorDir) rmSync(monitorDir, { recursive: true, force: true });
  }
  const tail = watch.text();
  const exitedBy = options.signal?.aborted
    ? 'aborted'
    : timedOut
      ? 'timeout'
      : /Kernel panic - not syncing/.test(tail)
        ? 'panic'
        : /reboot: Power down/.test(tail)
          ? 'poweroff'
          : 'other';
  return { exitedBy, ms: Date.now() - started, nmiAtMs: watch.nmiAtMs() };
}

/** Follows the serial file: new text to onSerial, and the NMI once the console is silent long enough. */
function watchSerial(options: BootOptions, nmi: () => Promise<void>, started: number) {
  let offset = 0;
  let text = '';
  let armedAt: number | undefined = options.silenceAfter === undefined ? started : undefined;
  let lastOutput = Date.now();
  let nmiAt: number | undefined;
  const read = () => {
    if (!existsSync(options.serialLog)) return;
    const size = statSync(options.serialLog).size;
    if (size <= offset) return;
    const fd = openSync(options.serialLog, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      offset += n;
      const chunk = buffer.toString('latin1', 0, n);
      // enough of the text for the markers and the ending; the whole log stays in the file
      text = (text + chunk).slice(-(1 << 20));
      lastOutput = Date.now();
      if (armedAt === undefined && options.silenceAfter && text.includes(options.silenceAfter)) armedAt = lastOutput;
      options.onSerial?.(chunk);
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(() => {
    read();
    if (options.silenceS === undefined || armedAt === undefined || nmiAt !== undefined) return;
    if (Date.now() - lastOutput >= options.silenceS * 1000) {
      nmiAt = Date.now() - started;
      nmi().catch(() => undefined); // QEMU gone already: its exit ends the boot anyway
    }
  }, POLL_MS);
  return {
    stop: () => (clearInterval(timer), read()),
    text: () => text,
    nmiAtMs: () => nmiAt,
  };
}

/** One HMP command on the monitor socket. */
function sendMonitor(path: string, command: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(path);
    socket.setTimeout(2000, () => (socket.destroy(), reject(new Error('monitor timeout'))));
    socket.on('error', reject);
    // the banner first, then the command; the reply (or 300 ms) tells it was read
    socket.once('data', () => {
      socket.write(`${command}\n`);
      const done = () => (socket.end(), resolvePromise());
      const timer = setTimeout(done, 300);
      socket.once('data', () => (clearTimeout(timer), done()));
    });
  });
}
