/**
 * Test helpers for locate-freeze: a real manifest made by instrumenting fixtures/dm-demo.c, kernel events
 * of a freeze scenario, and a renderer that writes those events in every log format of
 * docs/kernel-logs.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instrumentSources } from '../../src/instrument/instrument.js';
import { parseTemplate } from '../../src/instrument/template.js';
import type { Manifest } from '../../src/manifest/schema.js';
import { serializeManifest } from '../../src/manifest/serialize.js';
import { LogAnalyzer } from '../../src/locate/analyze.js';
import { locateFreeze, type Answer } from '../../src/locate/locate.js';
import { CrumbResolver } from '../../src/locate/resolve.js';

export const FIXTURE = fileURLToPath(new URL('./fixtures/dm-demo.c', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('../../templates/printk.tmpl', import.meta.url));

export interface Demo {
  manifest: Manifest;
  original: string;
  instrumented: string;
}

const demos = new Map<string, Promise<Demo>>();

/**
 * The fixture instrumented at every-line level. Its breadcrumbs (see the test names): demo_wait_idle 1-4
 * (2-3 loop body), demo_map 5-12 (7-8 write arm, 9 read arm), demo_presuspend 13-16 (13 before
 * spin_lock_irq at line 47), demo_dtr 17-19.
 */
export function demo(tag = 'kq7x', root = '/src/linux'): Promise<Demo> {
  const key = `${tag}:${root}`;
  let made = demos.get(key);
  if (!made) {
    made = (async () => {
      const original = readFileSync(FIXTURE, 'latin1');
      const template = parseTemplate(readFileSync(TEMPLATE, 'utf8'), 'printk');
      const result = await instrumentSources([{ path: 'drivers/md/dm-demo.c', text: original }], {
        level: 'every-line',
        template,
        tag,
        root,
        now: new Date('2026-01-01T00:00:00Z'),
      });
      return { manifest: result.manifest, original, instrumented: result.outputs[0].text };
    })();
    demos.set(key, made);
  }
  return made;
}

const fixtures = new Map<string, Promise<Demo>>();

/** fixtures/<name> instrumented at every-line level as drivers/md/<name>, like demo(). */
export function instrumentedFixture(name: string, tag = 'kq7x'): Promise<Demo> {
  const key = `${name}:${tag}`;
  let made = fixtures.get(key);
  if (!made) {
    made = (async () => {
      const original = readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'latin1');
      const template = parseTemplate(readFileSync(TEMPLATE, 'utf8'), 'printk');
      const result = await instrumentSources([{ path: `drivers/md/${name}`, text: original }], {
        level: 'every-line',
        template,
        tag,
        root: '/src/linux',
        now: new Date('2026-01-01T00:00:00Z'),
      });
      return { manifest: result.manifest, original, instrumented: result.outputs[0].text };
    })();
    fixtures.set(key, made);
  }
  return made;
}

/** One kernel message as the kernel stored it. */
export interface Event {
  text: string;
  /** Seconds since boot. */
  time: number;
  cpu: number;
  /** Task id for CONFIG_PRINTK_CALLER; absent means interrupt context (`C<cpu>`). */
  task?: number;
  level?: number;
}

export const FORMATS = [
  'console',
  'console-notime',
  'console-caller',
  'console-crlf-noise',
  'putty',
  'vendor-process',
  'vendor-caller',
  'dmesg-r',
  'ramoops',
  'dmesg-x',
  'dmesg-T',
  'dmesg-iso',
  'dmesg-d',
  'dmesg-e',
  'dmesg-e-delta',
  'kmsg',
  'kmsg-caller',
  'netconsole-ext',
  'netconsole-release',
  'journal',
  'journal-monotonic',
  'journal-precise',
  'journal-iso',
  'journal-unix',
  'journal-cat',
] as const;
export type Format = (typeof FORMATS)[number];

/** Formats whose clock restarts at boot (so a boot shows even without `Linux version`). */
export const MONOTONIC: ReadonlySet<Format> = new Set([
  'console', 'console-caller', 'console-crlf-noise', 'putty', 'vendor-process', 'vendor-caller', 'dmesg-r', 'ramoops',
  'dmesg-x', 'dmesg-d', 'kmsg', 'kmsg-caller', 'netconsole-ext', 'netconsole-release', 'journal-monotonic',
]);
/** Formats that carry caller ids (threads are tasks, not CPUs). */
export const WITH_CALLER: ReadonlySet<Format> = new Set(['console-caller', 'kmsg-caller', 'vendor-process', 'vendor-caller']);

const pad = (n: number, width: number) => String(n).padStart(width, ' ');
const stamp = (t: number) => `[${t.toFixed(6).padStart(12, ' ')}]`;
const BASE = Date.UTC(2024, 2, 5, 9, 23, 45);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const two = (n: number) => String(n).padStart(2, '0');

function wall(t: number) {
  const d = new Date(BASE + t * 1000);
  const hms = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const micro = String(Math.round((t % 1) * 1e6)).padStart(6, '0');
  const date = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
  return { d, hms, micro, date, mon: MONTHS[d.getUTCMonth()], day: DAYS[d.getUTCDay()] };
}

function caller(e: Event): string {
  return e.task !== undefined ? `T${e.task}` : `C${e.cpu}`;
}

/** Renders events as one log of the given format; `seq0` numbers kmsg records. */
export function render(events: Event[], format: Format, seq0 = 0): string {
  const lines: string[] = [];
  let eol = '\n';
  if (format === 'putty') {
    lines.push('=~=~=~=~=~=~=~=~=~=~=~= PuTTY log 2025.10.20 18:45:12 =~=~=~=~=~=~=~=~=~=~=~=');
    eol = '\r\n';
  }
  if (format === 'ramoops') lines.push('Panic#1 Part1');
  if (format === 'console-crlf-noise') eol = '\r\n';
  let previous = events.length ? events[0].time : 0;
  events.forEach((e, i) => {
    const level = e.level ?? 6;
    const w = wall(e.time);
    const text = e.text;
    const seq = seq0 + i;
    const usec = Math.round(e.time * 1e6);
    switch (format) {
      case 'console':
      case 'putty':
        lines.push(`${stamp(e.time)} ${text}`);
        break;
      case 'console-notime':
      case 'journal-cat':
        lines.push(text);
        break;
      case 'console-caller':
        lines.push(`${stamp(e.time)}[${caller(e).padStart(6, ' ')}] ${text}`);
        break;
      case 'console-crlf-noise': {
        const noise = i % 7 === 3 ? '\x00\x00' : i % 11 === 5 ? '\xff\xfe\x1b[0m' : '';
        lines.push(`${noise}${stamp(e.time)} ${text}`);
        if (i % 13 === 6) lines.push(`CCCCCCCC** ${i} printk messages dropped **`);
        break;
      }
      case 'vendor-process':
        lines.push(`${stamp(e.time)} [${e.cpu}:${'kworker/1:1'.padStart(16, ' ')}:${pad(e.task ?? 0, 5)}] ${text}`);
        break;
      case 'vendor-caller':
        lines.push(`[${e.time.toFixed(6).padStart(12, ' ')},caller=${caller(e)}@C${e.cpu}] ${text}`);
        break;
      case 'dmesg-r':
      case 'ramoops':
        lines.push(`<${level}>${stamp(e.time)} ${text}`);
        break;
      case 'dmesg-x': {
        const names = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
        lines.push(`kern  :${names[level].padEnd(6, ' ')}: ${stamp(e.time)} ${text}`);
        break;
      }
      case 'dmesg-T':
        lines.push(`[${w.day} ${w.mon} ${pad(w.d.getUTCDate(), 2)} ${w.hms} ${w.d.getUTCFullYear()}] ${text}`);
        break;
      case 'dmesg-iso':
        lines.push(`${w.date}T${w.hms},${w.micro}+01:00 ${text}`);
        break;
      case 'dmesg-d':
        lines.push(`[${e.time.toFixed(6).padStart(12, ' ')} <${(e.time - previous).toFixed(6).padStart(12, ' ')}>] ${text}`);
        break;
      case 'dmesg-e':
        lines.push(`[${w.mon} ${w.d.getUTCDate()} ${w.hms.slice(0, 5)}] ${text}`);
        break;
      case 'dmesg-e-delta':
        lines.push(`[  +${(e.time - previous).toFixed(6)}] ${text}`);
        break;
      case 'kmsg':
      case 'netconsole-ext':
        lines.push(`${level},${seq},${usec},-;${text}`);
        break;
      case 'kmsg-caller':
        lines.push(`${level},${seq},${usec},-,caller=${caller(e)};${text}`);
        if (i % 9 === 4) lines.push(' SUBSYSTEM=acpi', ' DEVICE=+acpi:LNXCPU:00');
        break;
      case 'netconsole-release':
        lines.push(`6.1.0-18-amd64,${level},${seq},${usec},-;${text}`);
        break;
      case 'journal':
        lines.push(`${w.mon} ${two(w.d.getUTCDate())} ${w.hms} host kernel: ${text}`);
        break;
      case 'journal-monotonic':
        lines.push(`${stamp(e.time)} host kernel: ${text}`);
        break;
      case 'journal-precise':
        lines.push(`${w.mon} ${two(w.d.getUTCDate())} ${w.hms}.${w.micro} host kernel: ${text}`);
        break;
      case 'journal-iso':
        lines.push(`${w.date}T${w.hms}+0100 host kernel: ${text}`);
        break;
      case 'journal-unix':
        lines.push(`${(BASE / 1000 + e.time).toFixed(6)} host kernel: ${text}`);
        break;
    }
    previous = e.time;
  });
  return lines.join(eol) + eol;
}

/** Breadcrumb events: ids printed in order on one CPU (and task), 1 ms apart from `t`. */
export function crumbs(tag: string, ids: number[], cpu: number, t: number, task?: number): Event[] {
  return ids.map((id, i) => ({ text: `${tag}#${id}@${cpu}`, time: t + i * 0.001, cpu, task, level: 2 }));
}

export function say(text: string, time: number, cpu = 0, task?: number): Event {
  return { text, time, cpu, task };
}

/** Merges event lists by time, as the kernel's ring buffer does. */
export function merge(...lists: Event[][]): Event[] {
  return lists.flat().sort((a, b) => a.time - b.time);
}

export const BOOT_LINE = 'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)';

/** A boot's first messages. */
export function bootEvents(t0 = 0): Event[] {
  return [
    say(BOOT_LINE, t0),
    say('Command line: BOOT_IMAGE=/vmlinuz console=ttyS0,115200 softlockup_panic=0', t0),
    say('x86/fpu: Supporting XSAVE feature 0x001', t0),
    say('smp: Bringing up secondary CPUs ...', t0 + 0.1),
    say('device-mapper: ioctl: 4.47.0-ioctl (2022-07-28) initialised: dm-devel@redhat.com', t0 + 2.5, 1, 1),
  ];
}

/**
 * The main scenario: CPU 0 maps a read bio (5 6 9 10 11 12) and CPU 1 a write bio that spins in
 * demo_wait_idle (5 6 7 8 1 2 3 2 3 4 10 11 12), then CPU 1 enters demo_presuspend, prints #13 and hangs
 * in spin_lock_irq (line 47); the soft lockup watchdog reports it with a backtrace.
 */
export function freezeScenario(tag = 'kq7x', t0 = 0, withLockup = true): Event[] {
  const events = merge(
    bootEvents(t0),
    crumbs(tag, [5, 6, 9, 10, 11, 12], 0, t0 + 10, 301),
    crumbs(tag, [5, 6, 7, 8, 1, 2, 3, 2, 3, 4, 10, 11, 12], 1, t0 + 10.0005, 302),
    [say('EXT4-fs (vda1): mounted filesystem with ordered data mode', t0 + 11, 0, 1)],
    crumbs(tag, [13], 1, t0 + 20, 400),
  );
  if (withLockup) events.push(...softLockup(1, t0 + 44, 400));
  return events;
}

export function softLockup(cpu: number, t: number, pid: number, fn = 'demo_presuspend'): Event[] {
  const lines = [
    `watchdog: BUG: soft lockup - CPU#${cpu} stuck for 22s! [dmsetup:${pid}]`,
    'Modules linked in: dm_demo(OE) dm_mod',
    `CPU: ${cpu} PID: ${pid} Comm: dmsetup Tainted: G           OE      6.1.0-18-amd64 #1  Debian 6.1.76-1`,
    'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014',
    'RIP: 0010:native_queued_spin_lock_slowpath+0x5d/0x2e0',
    'Call Trace:',
    ' <IRQ>',
    ' ? watchdog_timer_fn+0x1be/0x220',
    ' </IRQ>',
    ' <TASK>',
    ' _raw_spin_lock_irq+0x29/0x30',
    ` ${fn}+0x2b/0x60 [dm_demo]`,
    ' dm_table_presuspend_targets+0x3f/0x60 [dm_mod]',
    ' dm_suspend+0x9a/0xe0 [dm_mod]',
    ' </TASK>',
  ];
  return lines.map((text, i) => ({ text, time: t + i * 0.000001, cpu, task: i === 0 ? undefined : pid, level: i === 0 ? 0 : 4 }));
}

/** The whole pure pipeline over a log string, fed in chunks of `chunk` characters. */
export function locateText(log: string, manifests: Manifest[], options: { trail?: number; chunk?: number } = {}): Answer {
  const resolver = new CrumbResolver(manifests);
  const analyzer = new LogAnalyzer({ resolver, trail: options.trail ?? 10, firstLineNumber: 1 });
  const chunk = options.chunk ?? 65536;
  for (let i = 0; i < log.length; i += chunk) analyzer.push(log.slice(i, i + chunk));
  return locateFreeze({ analysis: analyzer.end(), resolver, fromStart: true, toEnd: true });
}

/** The manifest as if no function declared the structs its locks live in (only member paths left to compare). */
export function withoutLockTypes(manifest: Manifest): Manifest {
  return { ...manifest, crumbs: manifest.crumbs.map((c) => (c.sync ? { ...c, sync: c.sync.map(({ type: _type, ...op }) => op) } : c)) };
}

/** A seeded PRNG (mulberry32), so property tests are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A temp kernel tree holding the instrumented demo fixture and its manifest in .kcrumb/, as instrument leaves it. */
export async function demoTree(prefix: string, tag = 'kq7x'): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const { manifest, instrumented } = await demo(tag, root);
  mkdirSync(join(root, 'drivers/md'), { recursive: true });
  writeFileSync(join(root, 'drivers/md/dm-demo.c'), instrumented, 'latin1');
  mkdirSync(join(root, '.kcrumb'));
  writeFileSync(join(root, `.kcrumb/${tag}.json`), serializeManifest(manifest));
  return root;
}
