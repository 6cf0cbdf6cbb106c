/**
 * One log line, whatever wrote it: the prefix of every format in shared/notes/kernel-logs.md is peeled off
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

/** Peels the known prefixes off one raw line (no trailing newline; a trailing CR is dropped). */
export function parseLogLine(raw: string): LogLine {
  let s = cleanLine(raw);
  const line: LogLine = { text: s };

  const kmsg = KMSG.exec(s);
  if (kmsg) {
    line.level = Number(kmsg[1]) & 7;
    line.seq = Number(kmsg[2]);
    line.time = Number(kmsg[3]) / 1e6;
    const caller = /caller=([TC]\d{1,10})/.exec(kmsg[4]);
    if (caller) line.caller = caller[1];
    line.text = s.slice(kmsg[0].length);
    line.bootMarker = LINUX_VERSION.test(line.text);
    return line;
  }

  if (JOURNAL_BOOT.test(s)) {
    line.bootMarker = true;
    return line;
  }

  let m = SYSLOG_PRI.exec(s);
  if (m) {
    line.level = Number(m[1]) & 7;
    s = s.slice(m[0].length);
  } else if ((m = DMESG_X.exec(s)) && m[2] in LEVEL_NAMES) {
    line.level = LEVEL_NAMES[m[2]];
    s = s.slice(m[0].length);
  }

  let timed = true;
  if ((m = MONO_BRACKET.exec(s))) {
    line.time = Number(`${m[1]}.${m[2]}`);
    if (m[3]) line.caller = m[3];
  } else if (!(m = WALL_BRACKET.exec(s) ?? ISO_TIME.exec(s) ?? SYSLOG_TIME.exec(s) ?? UNIX_TIME.exec(s))) {
    timed = false;
    // UART noise before the timestamp: `CCCC[  12.345678] msg`
    const hidden = MONO_ANYWHERE.exec(s.slice(0, 96));
    if (hidden && hidden.index > 0 && !/^\s*$/.test(s.slice(0, hidden.index))) {
      s = s.slice(hidden.index);
      m = MONO_BRACKET.exec(s);
      if (m) {
        line.time = Number(`${m[1]}.${m[2]}`);
        timed = true;
      }
    }
  }
  if (timed && m) {
    s = s.slice(m[0].length);
    const caller = CALLER_BRACKET.exec(s);
    if (caller) {
      line.caller = caller[1];
      s = s.slice(caller[0].length);
    }
    if (s.startsWith(' ')) s = s.slice(1);
    const host = JOURNAL_HOST.exec(s);
    if (host) s = s.slice(host[0].length);
    const column = PROCESS_COLUMN.exec(s);
    if (column) {
      line.caller ??= `T${column[1]}`;
      s = s.slice(column[0].length);
    }
  }
  line.text = s;
  line.bootMarker = LINUX_VERSION.test(s);
  return line;
}

/** Drops what terminals and UARTs add: CR, NUL bytes, ANSI escapes. */
export function cleanLine(raw: string): string {
  let s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (s.includes('\0')) s = s.replaceAll('\0', '');
  if (s.includes('\x1b')) s = s.replace(ANSI, '');
  if (s.includes('\r')) s = s.slice(s.lastIndexOf('\r') + 1); // a bare CR redraws the line
  return s;
}
