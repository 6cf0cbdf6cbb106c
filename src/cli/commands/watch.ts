import { closeSync, copyFileSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KcrumbError } from '../../errors.js';
import { CrumbResolver } from '../../locate/resolve.js';
import { LiveCrumbs, QuietClock, statusLines } from '../../watch/live.js';
import type { CommandContext } from '../context.js';
import { EXIT_NO } from '../exit-codes.js';
import { requireManifests } from '../manifest-store.js';
import { paint } from '../output.js';
import { checkOutputPath, displayPath } from '../source-files.js';
import { runLocateFreeze } from '../run-locate-freeze.js';

interface WatchFlags {
  udp?: number;
  bind: string;
  quietAfter: number;
  save?: string;
  keep?: boolean;
  manifest?: string;
  json?: boolean;
  trail: number;
  context: number;
  poll: number;
}

/** A source of log bytes: a growing file or a UDP port. */
interface Source {
  /** What the answer is read from once the stream is quiet. */
  logPath: string;
  describe: string;
  stop(): void;
}

type Emit = (chunk: Buffer) => void;

export function registerWatch(command: Command, ctx: CommandContext): void {
  command
    .description(
      'Follow a growing log file (like tail -F: reads only what was appended; waits for the file, starts over ' +
        'when it is truncated or replaced) or receive netconsole on a UDP port, show the last breadcrumb of ' +
        'each CPU (or task) live, and when nothing arrived for --quiet-after seconds after breadcrumbs were ' +
        'flowing, print the locate-freeze answer and save the raw log. Exits after the answer (0: found) ' +
        'unless --keep.',
    )
    .argument('[file]', 'the capture to follow (a QEMU -serial file:, a terminal program log)')
    .option('-u, --udp <port>', 'receive netconsole datagrams on this UDP port instead of following a file', portNumber)
    .option('--bind <addr>', 'address to receive on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('-q, --quiet-after <seconds>', 'silence after breadcrumbs that means a freeze', seconds, 5)
    .option('-s, --save <file>', 'where the raw log is saved (default with --udp: netconsole-<date>-<time>.log here; with a file: not copied)')
    .option('-k, --keep', 'after an answer, keep watching for the next freeze')
    .option('-m, --manifest <file|dir>', 'manifest file or directory of them (default: .kcrumb/ in the working directory)')
    .option('--json', 'print the answer as JSON (status lines stay on stderr)')
    .option('-n, --trail <n>', 'breadcrumbs shown per CPU or task in the answer', count, 10)
    .option('-C, --context <n>', 'source lines shown around the answer', count, 3)
    .addOption(new Option('--poll <ms>', 'how often the file is checked, in ms').argParser(pollMs).default(100).hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ qemu-system-x86_64 ... -serial file:guest.log &
  $ kcrumb watch guest.log
    CPU0   #9 remap_entry_flush()  dm-remap-metadata.c:46  (24 seen, 0.0 s ago)
  kcrumb: nothing arrived for 5 s after breadcrumbs were flowing; the answer:
  dm-remap-metadata.c:46:9: note: last breadcrumb #9 (remap_entry_flush): the freeze is at or after this statement
  $ kcrumb watch --udp 6666 --bind 0.0.0.0 --save netconsole.log   # on the receiving machine
  $ kcrumb watch --keep --quiet-after 30 /var/log/libvirt/qemu/guest-serial.log`,
    )
    .action(async (file: string | undefined, flags: WatchFlags) => {
      ctx.exitCode = await runWatch(ctx, file, flags);
    });
}

async function runWatch(ctx: CommandContext, file: string | undefined, flags: WatchFlags): Promise<number> {
  const { cwd, output } = ctx;
  if ((file === undefined) === (flags.udp === undefined)) {
    throw new KcrumbError('usage', file === undefined ? 'watch what? give a FILE or --udp PORT' : 'give a FILE or --udp PORT, not both');
  }
  if (!isIP(flags.bind)) throw new KcrumbError('usage', `--bind ${flags.bind}: not an IP address`);
  if (file !== undefined) checkFollowable(resolve(cwd, file), file);
  // The save path is checked before anything is written to it: never a source, a directory or a device.
  if (flags.save) flags.save = checkOutputPath(cwd, flags.save, '--save', 'log');
  const stored = requireManifests(cwd, flags.manifest);
  const manifests = stored.map((s) => s.manifest);
  const live = new LiveCrumbs(new CrumbResolver(manifests));
  const clock = new QuietClock(flags.quietAfter * 1000);
  const display = (m: number, f: number) => displayPath(cwd, resolve(manifests[m].root, manifests[m].files[f].path));
  const status = statusBoard(ctx, flags);
  let startedWith = true; // the file's existing content: part of the answer, but it does not arm the clock

  const emit: Emit = (chunk) => {
    const now = Date.now();
    const crumbs = live.push(chunk.toString('latin1'), now);
    clock.data(now, startedWith ? 0 : crumbs);
  };
  const source: Source =
    flags.udp !== undefined
      ? await receiveUdp(cwd, flags, emit, (text) => output.err(text))
      : followFile(resolve(cwd, file!), flags.poll, emit, () => {
          live.reset();
          output.err(`kcrumb: ${file} was truncated or replaced: following the new capture`);
        });
  output.err(`kcrumb: watching ${source.describe}; an answer after ${flags.quietAfter} s of silence following breadcrumbs${flags.keep ? ' (--keep: until Ctrl-C)' : ''}`);
  startedWith = false;

  return new Promise<number>((done) => {
    let result = EXIT_NO; // until an answer: interrupted before any breadcrumb means none
    let busy = false;
    const finish = () => {
      clearInterval(timer);
      process.off('SIGINT', interrupt);
      source.stop();
      status.clear();
      done(result);
    };
    const answer = async (why: string) => {
      status.clear();
      output.err(`kcrumb: ${why}; the answer:`);
      if (flags.save && file !== undefined) copyFileSync(source.logPath, resolve(cwd, flags.save));
      result = await runLocateFreeze(ctx, source.logPath, { manifest: flags.manifest, trail: flags.trail, context: flags.context, json: flags.json });
      const saved = flags.save ? resolve(cwd, flags.save) : source.logPath;
      output.err(`kcrumb: raw log ${flags.save || flags.udp !== undefined ? 'saved to' : 'is'} ${displayPath(cwd, saved)}`);
    };
    const interrupt = () => {
      if (busy) return;
      busy = true;
      void (async () => {
        // breadcrumbs not answered yet (an answer already given disarmed the clock)
        if (clock.isArmed) await answer('interrupted').catch(() => {});
        finish();
      })();
    };
    process.on('SIGINT', interrupt);
    const timer = setInterval(() => {
      if (busy) return;
      const now = Date.now();
      status.draw(statusLines(live.list(), display, now), live.total, now);
      if (!clock.fire(now)) return;
      busy = true;
      void answer(`nothing arrived for ${flags.quietAfter} s after breadcrumbs were flowing`)
        .catch((error: unknown) => output.err(`kcrumb: error: ${(error as Error).message}`))
        .finally(() => {
          busy = false;
          if (!flags.keep) finish();
        });
    }, Math.min(100, flags.poll));
  });
}

/** The live per-thread lines: redrawn in place on a terminal, plain lines (at most one a second) elsewhere. */
function statusBoard(ctx: CommandContext, flags: WatchFlags) {
  const { output } = ctx;
  let drawn = 0;
  let lastPlain = '';
  let lastPlainAt = 0;
  let lastDrawAt = 0;
  return {
    draw(lines: string[], total: number, now: number) {
      if (lines.length === 0) return;
      if (output.interactive) {
        if (now - lastDrawAt < 200) return;
        lastDrawAt = now;
        const head = paint(output, 'dim', `kcrumb watch: ${total} breadcrumb(s); last per ${flags.udp !== undefined ? 'sender CPU' : 'CPU'}:`);
        const block = [head, ...lines];
        output.status(`${drawn > 0 ? `\x1b[${drawn}A` : ''}\r\x1b[J${block.join('\n')}\n`);
        drawn = block.length;
        return;
      }
      const plain = lines.map((l) => l.replace(/\(\d+ seen, [\d.]+ s ago\)/, '').trim()).join(' | ');
      if (plain === lastPlain || now - lastPlainAt < 1000) return;
      lastPlain = plain;
      lastPlainAt = now;
      output.err(`kcrumb: ${plain}`);
    },
    clear() {
      if (output.interactive && drawn > 0) output.status(`\x1b[${drawn}A\r\x1b[J`);
      drawn = 0;
    },
  };
}

/** tail -F: polls the file, reads what was appended, starts over when it shrinks or is replaced. */
/** A capture to follow is a regular file, a FIFO or a character device (a serial port), or not there yet. */
function checkFollowable(path: string, given: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return; // minicom or the console logger creates it later
  }
  if (stat.isDirectory()) throw new KcrumbError('input', `${given}: is a directory, not a log file`);
}

function followFile(path: string, pollMs: number, emit: Emit, restarted: () => void): Source {
  let fd: number | undefined;
  let inode: number | undefined;
  let position = 0;
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const poll = () => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return; // not there (yet, or while being replaced)
    }
    if (fd !== undefined && (stat.ino !== inode || stat.size < position)) {
      close();
      position = 0;
      restarted();
    }
    if (stat.isDirectory()) return; // replaced by a directory: wait for a capture to come back
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch {
        return;
      }
      inode = stat.ino;
    }
    const buffer = Buffer.allocUnsafe(1 << 20);
    try {
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, position);
        if (n === 0) break;
        position += n;
        emit(Buffer.from(buffer.subarray(0, n)));
      }
    } catch {
      close(); // gone between stat and read (EISDIR, EIO): the next poll looks again
    }
  };
  poll();
  const timer = setInterval(poll, pollMs);
  return {
    logPath: path,
    describe: path,
    stop: () => {
      clearInterval(timer);
      close();
    },
  };
}

/** netconsole receiver: every datagram is appended to the save file as it arrives, then parsed. */
async function receiveUdp(cwd: string, flags: WatchFlags, emit: Emit, say: (text: string) => void): Promise<Source> {
  const savePath = resolve(cwd, flags.save ?? defaultSaveName(new Date()));
  let fd: number;
  try {
    fd = openSync(savePath, 'a');
  } catch (error) {
    throw new KcrumbError('input', `--save ${displayPath(cwd, savePath)}: cannot write (${(error as NodeJS.ErrnoException).code})`);
  }
  const socket: Socket = createSocket(isIP(flags.bind) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((bound, failed) => {
    socket.once('error', (error: NodeJS.ErrnoException) => {
      closeSync(fd);
      failed(new KcrumbError('input', `--udp ${flags.udp}: cannot receive on ${flags.bind} (${error.code})`, error.code === 'EADDRINUSE' ? 'another receiver (nc, socat, kcrumb) holds the port' : undefined));
    });
    socket.bind({ port: flags.udp, address: flags.bind, exclusive: true }, () => bound());
  });
  socket.on('message', (message) => {
    writeSync(fd, message);
    emit(message);
  });
  socket.on('error', (error) => say(`kcrumb: warning: udp: ${error.message}`));
  const address = socket.address();
  return {
    logPath: savePath,
    describe: `udp ${address.address}:${address.port} (netconsole), saving to ${displayPath(cwd, savePath)}`,
    stop: () => {
      socket.close();
      closeSync(fd);
    },
  };
}

function defaultSaveName(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `netconsole-${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}.log`;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number from 1 to 65535');
  return n;
}

function pollMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10 || n > 10000) throw new InvalidArgumentError('expected milliseconds from 10 to 10000');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86400) throw new InvalidArgumentError('expected seconds, more than 0');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100000) throw new InvalidArgumentError('expected a whole number from 0 to 100000');
  return n;
}
