/**
 * One log line, whatever wrote it: the prefix of every format in docs/kernel-logs.md is peeled off
 * into fields, and what is left is the message text. Lines are latin1 strings, so any byte is one char and
 * nothing here can throw on garbage. Breadcrumbs are searched in the raw line anyway (they may sit behind
 * a prefix this does not know), so the fields only feed threads, boots and lockup reports.
 */

export interface LogLine {
  /** The message with every known prefix removed (pr_fmt prefixes such as `device-mapper: ` stay). */
  text: string;
  /** Seconds since boot, only from clocks that restart at boot (console, kmsg, short-monotonic). */
  time?: number;
  /** Caller id from CONFIG_PRINTK_CALLER or a vendor process column: `T123` (task) or `C1` (CPU). */
  caller?: string;
  /** Syslog level 0..7 when the format carries it. */
  level?: number;
  /** /dev/kmsg and extended netconsole sequence number. */
  seq?: number;
  /** A line that starts a boot by itself: `Linux version ...`, journalctl's `-- Boot ... --`. */
  bootMarker?: boolean;
}

/** A line longer than this is cut into pieces, so a log without newlines cannot exhaust memory. */
export const MAX_LINE = 16 * 1024 * 1024;

const LEVEL_NAMES: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, err: 3, warn: 4, notice: 5, info: 6, debug: 7,
};

// `2,1234,5140900,-;` or `6.4.0,6,444,501151268,-,caller=T1,ncfrag=0/31;` (kmsg, extended netconsole)
const KMSG = /^(?:\d+\.\d+[^,;\s]*,)?(\d{1,3}),(\d{1,20}),(\d{1,20}),[^,;]*((?:,[^;]*)?);/;
// `<2>` syslog priority from dmesg -r and pstore dmesg-ramoops
const SYSLOG_PRI = /^<(\d{1,3})>/;
// `kern  :crit  : ` from dmesg -x
const DMESG_X = /^([a-z]{2,8})\s*:\s*([a-z]{3,6})\s*: ?/;
// `[  123.456789]`, `[  123.456789 <    0.000123>]` (dmesg -d), `[ 12.3,caller=T1@C0]` (vendor)
const MONO_BRACKET = /^\[\s*(\d{1,10})\.(\d{1,9})(?:\s*<[^>\]]*>)?(?:,caller=([TC]\d{1,10})[^\]]*)?\]/;
// `[Tue Mar  5 10:23:45 2024]` (dmesg -T), `[Mar 5 10:23]` and `[  +0.000123]` (dmesg -e)
const WALL_BRACKET = /^\[(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d(?::\d\d)?(?: \d{4})?\]|^\[\s*\+\s*\d+\.\d+\]/;
// `2024-03-05T10:23:45,123456+01:00 ` (dmesg --time-format iso), `2024-03-05T10:23:45+0100 ` (journalctl)
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? /;
// `Mar 05 10:23:45 `, `Mar 05 10:23:45.123456 ` (journalctl short, short-precise)
const SYSLOG_TIME = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? /;
// `1709630625.123456 ` (journalctl -o short-unix)
const UNIX_TIME = /^\d{9,11}\.\d{1,9} /;
// `host kernel: ` after a journalctl time
const JOURNAL_HOST = /^\S+ kernel: /;
// `[ T7652]`, `[    C1]`, `[T123@C1]` right after the time
const CALLER_BRACKET = /^\[\s*([TC]\d{1,10})(?:@C\d+)?\]/;
// ` [1:    kworker/1:1:  123]` vendor process column: CPU, comm, pid
const PROCESS_COLUMN = /^ ?\[\d{1,5}:\s*[^\]]*?:\s*(\d{1,10})\] ?/;
// a console timestamp behind UART noise or garbage bytes
const MONO_ANYWHERE = /\[\s*\d{1,10}\.\d{6}\]/;
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const JOURNAL_BOOT = /^-- (?:Boot [0-9a-f]{8,} --|Reboot --)/;
const LINUX_VERSION = /^Linux version \d/;

/** Prefixes are short: matching only the head keeps a 10 MB line as cheap as a short one. */
const HEAD = 512;

/** Peels the known prefixes off one raw line (no trailing newline; trailing CRs are dropped). */
export function parseLogLine(raw: string): LogLine {
  const clean = cleanLine(raw);
  const head = clean.length > HEAD ? clean.slice(0, HEAD) : clean;
  const line: LogLine = { text: clean };

  const first = head.charCodeAt(0);
  const kmsg = first >= 0x30 && first <= 0x39 ? KMSG.exec(head) : null;
  if (kmsg) {
    line.level = Number(kmsg[1]) & 7;
    line.seq = Number(kmsg[2]);
    line.time = Number(kmsg[3]) / 1e6;
    const caller = /caller=([TC]\d{1,10})/.exec(kmsg[4]);
    if (caller) line.caller = caller[1];
    line.text = clean.slice(kmsg[0].length);
    line.bootMarker = LINUX_VERSION.test(line.text);
    return line;
  }
  if (first === 0x2d && JOURNAL_BOOT.test(head)) {
    line.bootMarker = true;
    return line;
  }

  let pos = 0;
  const rest = () => head.slice(pos);
  let m = first === 0x3c ? SYSLOG_PRI.exec(head) : null;
  if (m) {
    line.level = Number(m[1]) & 7;
    pos += m[0].length;
  } else if (first >= 0x61 && first <= 0x7a && (m = DMESG_X.exec(head)) && m[2] in LEVEL_NAMES) {
    line.level = LEVEL_NAMES[m[2]];
    pos += m[0].length;
  }

  let time = MONO_BRACKET.exec(rest());
  if (!time && pos === 0) {
    // UART noise before the timestamp: `CCCC[  12.345678] msg`
    const hidden = MONO_ANYWHERE.exec(head.slice(0, 96));
    if (hidden && hidden.index > 0) {
      pos = hidden.index;
      time = MONO_BRACKET.exec(rest());
    }
  }
  const wall = time ? null : (WALL_BRACKET.exec(rest()) ?? ISO_TIME.exec(rest()) ?? SYSLOG_TIME.exec(rest()) ?? UNIX_TIME.exec(rest()));
  if (time) {
    line.time = Number(`${time[1]}.${time[2]}`);
    if (time[3]) line.caller = time[3];
  }
  const stamp = time ?? wall;
  if (stamp) {
    pos += stamp[0].length;
    const caller = head[pos] === '[' ? CALLER_BRACKET.exec(rest()) : null;
    if (caller) {
      line.caller = caller[1];
      pos += caller[0].length;
    }
    if (head[pos] === ' ') pos++;
    const host = head.includes(' kernel: ', pos) ? JOURNAL_HOST.exec(rest()) : null;
    if (host) pos += host[0].length;
    const column = head[pos] === '[' || head.startsWith(' [', pos) ? PROCESS_COLUMN.exec(rest()) : null;
    if (column) {
      line.caller ??= `T${column[1]}`;
      pos += column[0].length;
    }
  }
  line.text = pos === 0 ? clean : clean.slice(pos);
  line.bootMarker = line.text.startsWith('Linux version ') && LINUX_VERSION.test(line.text);
  return line;
}

/** Drops what terminals and UARTs add: CRs, NUL bytes, ANSI escapes. */
export function cleanLine(raw: string): string {
  let s = raw;
  while (s.endsWith('\r')) s = s.slice(0, -1);
  if (s.includes('\0')) s = s.replaceAll('\0', '');
  if (s.includes('\x1b')) s = s.replace(ANSI, '');
  if (s.includes('\r')) s = s.slice(s.lastIndexOf('\r') + 1); // a bare CR redraws the line
  return s;
}
