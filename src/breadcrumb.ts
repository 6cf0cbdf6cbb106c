/**
 * The one definition of what a breadcrumb looks like, in the source and in the log.
 *
 * In the source every inserted piece sits between SOURCE_OPEN and SOURCE_CLOSE, so strip can remove
 * exactly what was inserted and nothing else. In the log a breadcrumb prints as `kq7x#87@1`:
 * run tag, breadcrumb number, CPU; with `instrument --task-id`, `kq7x#87@1.233`: the task's pid too, so
 * trails are per task on kernels without printk caller ids. Short on purpose: a 115200-baud console
 * moves about 11.5 bytes per ms.
 */

/** Opens every piece of text kcrumb inserts into a C file. */
export const SOURCE_OPEN = '/*<kc*/';
/** Closes every piece of text kcrumb inserts into a C file. */
export const SOURCE_CLOSE = '/*kc>*/';

/** The braces kcrumb adds around an unbraced body so a breadcrumb can go in front of its statement. */
export const OPEN_BRACE_TEXT = '{ ';
export const CLOSE_BRACE_TEXT = ' }';

/** A breadcrumb statement as written into the source: instrument renders it, strip recognises it. */
export interface Template {
  name: string;
  /** One C statement with {{text}} (and usually {{cpu}}) in it, or {{tagword}} and {{id}}. */
  statement: string;
  /** A file-scope declaration the statement needs, inserted once per file (on an existing line). */
  declaration?: string;
  /** --task-id: the breadcrumb prints the task's pid after the CPU (`kq7x#87@1.233`). */
  taskId?: boolean;
}

/** The CPU the breadcrumb prints: raw_ because breadcrumbs run with preemption on, too. */
const CPU_EXPRESSION = 'raw_smp_processor_id()';
/** With --task-id, the pid of the task running it (in an interrupt: the task it interrupted). */
const TASK_EXPRESSION = 'task_pid_nr(current)';

export function renderCrumb(template: Template, tag: string, id: number): string {
  return template.statement
    .replaceAll('{{text}}', crumbFormat(tag, id, template.taskId))
    .replaceAll('{{cpu}}', template.taskId ? `${CPU_EXPRESSION}, ${TASK_EXPRESSION}` : CPU_EXPRESSION)
    .replaceAll('{{tagword}}', tagWord(tag))
    .replaceAll('{{id}}', String(id));
}

/** A regular expression source that matches what `template` renders to, for any tag and number. */
export function crumbPattern(template: Template): string {
  return escapeRegExp(template.statement)
    .replaceAll(escapeRegExp('{{text}}'), 'k[0-9a-z]{3}#\\d{1,7}@%d(?:\\.%d)?')
    .replaceAll(escapeRegExp('{{cpu}}'), `${escapeRegExp(CPU_EXPRESSION)}(?:, ${escapeRegExp(TASK_EXPRESSION)})?`)
    .replaceAll(escapeRegExp('{{tagword}}'), '0x[0-9a-f]{8}u')
    .replaceAll(escapeRegExp('{{id}}'), '\\d{1,7}');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Any inserted span, open marker to close marker. Inserted text never contains a marker itself. */
export const INSERTED_SPAN = /\/\*<kc\*\/[\s\S]*?\/\*kc>\*\//g;

/** A run tag: `k` and three base-36 characters, fresh for every instrument run. */
export const TAG_PATTERN = /^k[0-9a-z]{3}$/;

export function newTag(random: () => number = Math.random): string {
  let tag = 'k';
  for (let i = 0; i < 3; i++) tag += Math.floor(random() * 36).toString(36);
  return tag;
}

/**
 * The format string a breadcrumb prints, without the newline: `kq7x#87@%d` (CPU filled in at run time),
 * `kq7x#87@%d.%d` with the task's pid.
 */
export function crumbFormat(tag: string, id: number, taskId = false): string {
  return `${tag}#${id}@%d${taskId ? '.%d' : ''}`;
}

/**
 * `--sink ring`: a breadcrumb is a call into kcrumb_ring.ko (templates/ring/), which keeps the last
 * breadcrumbs of every CPU in memory and prints them when the kernel dies. The call takes the run tag as
 * one 32-bit word (`kq7x` is 0x6b713778: a constant, no string the instrumented module must keep alive).
 */
export const RING_RECORD = 'kcrumb_ring_record';

/** The run tag as the 32-bit word kcrumb_ring_record takes, first character in the high byte. */
export function tagWord(tag: string): string {
  let word = 0;
  for (const c of tag) word = word * 256 + c.charCodeAt(0);
  return `0x${word.toString(16).padStart(8, '0')}u`;
}

/**
 * An entry of a ring dump: `kcrumb-ring: kq7x#87@1 t=12.345678901` in the console log (the same without
 * the prefix in /sys/kernel/debug/kcrumb_ring), where t is the CPU's local_clock() when the breadcrumb
 * ran (the clock of printk's timestamps), seconds and nanoseconds.
 */
export const RING_ENTRY = /(?:^|kcrumb-ring: )k[0-9a-z]{3}#\d{1,7}@\d{1,5}(?:\.\d{1,10})? t=(\d{1,10})\.(\d{9})/;
/** The line a ring dump starts with: `kcrumb-ring: dump on panic: 2 CPUs, up to 64 entries each`. */
export const RING_DUMP_START = /kcrumb-ring: dump on (\w+):/;

/** One breadcrumb as found in a log line. */
export interface CrumbHit {
  tag: string;
  id: number;
  cpu: number;
  /** The task's pid, from a `--task-id` breadcrumb. */
  task?: number;
  /** Offset of the match in the line. */
  index: number;
}

/** Matches a printed breadcrumb anywhere in a line, after any prefix or garbage bytes. */
export const LOG_CRUMB = /(k[0-9a-z]{3})#(\d{1,7})@(\d{1,5})(?:\.(\d{1,7}))?/g;

/** Every breadcrumb in one log line (usually one; a line glued from two CPUs can hold more). */
export function findCrumbs(line: string): CrumbHit[] {
  const hits: CrumbHit[] = [];
  for (const m of line.matchAll(LOG_CRUMB)) {
    const hit: CrumbHit = { tag: m[1], id: Number(m[2]), cpu: Number(m[3]), index: m.index ?? 0 };
    if (m[4] !== undefined) hit.task = Number(m[4]);
    hits.push(hit);
  }
  return hits;
}
