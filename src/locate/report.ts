/**
 * The answer as text for a terminal (first line in gcc's form, so editors jump to it), one renderer per
 * section; answer-json.ts and lcov.ts give the same answer to scripts and coverage views. Paths and
 * source lines come from the edge.
 */
import { INSERTED_SPAN } from '../breadcrumb.js';
import type { ManifestCrumb } from '../manifest/schema.js';
import type { CycleReport } from './livelock.js';
import type { Answer, LockupCheck, ReportCheck } from './locate.js';
import { DEATH_VERBS, notAFreeze } from './death.js';
import { frameText, type Frame } from '../reports/frame.js';
import { contextLine, contextTag, quietLoopLine } from './crumb-notes.js';
import type { RingDump } from './analyze.js';
import { describeMatch } from './locks.js';
import type { LockWait, Root } from './root.js';
import type { Sighting, Thread } from './threads.js';
import type { TaskWait } from './waits.js';
import { describeTask, describeWait, holdUp } from './wait-words.js';

/** A root that sleeping tasks make: the machine hangs, no CPU froze. */
const hangOrFreeze = (root: Root) => (root.sleep ? 'hang' : 'freeze');

export interface ReportPaths {
  /** How to show file `file` of manifest `manifest`: relative to cwd when possible. */
  display(manifest: number, file: number): string;
}

export interface SourceWindow {
  /** Line number of lines[0]. */
  firstLine: number;
  lines: string[];
}

export interface TextOptions {
  paths: ReportPaths;
  /** Source around the root's line (the last breadcrumb's when they are one), when the file could be read. */
  source?: SourceWindow;
}

/** What every section renderer gets: the answer, where its last breadcrumb is, and how to write a place. */
interface Report {
  answer: Answer;
  options: TextOptions;
  last: Sighting;
  where: (manifest: number, crumb: ManifestCrumb) => string;
}

/** The sections of the text report, in order; each gives its lines (none when it has nothing to say). */
const SECTIONS: ((report: Report) => string[])[] = [headLines, injectedLines, runLines, nextLines, sleepLines, waitLines, trailLines, kernelLines];

/** The breadcrumb the answer is about: the crashed CPU's or task's last one, else the root's, else the last. */
export function focusOf(answer: Answer): Sighting | undefined {
  return crashOf(answer)?.crumb ?? answer.root?.at ?? answer.last;
}

/** The kernel's power-off line of a run that froze nowhere (locate gives such a run no root). */
function shutdownOf(answer: Answer): { text: string; offset: number; lineNumber?: number } | undefined {
  return answer.root ? undefined : answer.boot?.shutdown;
}

/** The report of a run that crashed or went on (not a freeze), when there is one. */
function crashOf(answer: Answer): ReportCheck | undefined {
  return answer.death && notAFreeze(answer.death.report.death) ? answer.death : undefined;
}

export function formatText(answer: Answer, options: TextOptions): string[] {
  const last = answer.last;
  if (!last) {
    const head = answer.death ? `kcrumb: note: ${deathPhrase(answer.death)}, and no breadcrumb of ours is in the log` : 'kcrumb: no breadcrumb of ours in the log';
    const reports = answer.reports.length > 0 ? ['', ...reportLines(answer.reports, answer.death)] : [];
    return [head, ...reports, ...(answer.hint ? [`kcrumb: hint: ${answer.hint}`] : [])];
  }
  const where = (m: number, c: ManifestCrumb) => `${options.paths.display(m, c.file)}:${c.line}:${c.column}`;
  const report: Report = { answer, options, last, where };
  return SECTIONS.flatMap((section) => section(report));
}

/** The headline in gcc's form, the source around it, and the statement's place in the log; then the last breadcrumb when the root is another. */
function headLines({ answer, options, last, where }: Report): string[] {
  const out: string[] = [];
  const { root, cycle } = answer;
  const crash = crashOf(answer);
  if (crash) return crashLines(crash, last, options.paths, options.source);
  if (cycle?.livelock) {
    out.push(...livelockLines(cycle, where));
    out.push(`${where(last.manifest, last.crumb)}: note: last breadcrumb printed #${last.crumb.id} (${last.crumb.function}), a point on that cycle`);
    if (options.source) out.push(...sourceLines(options.source, last.crumb.line));
    out.push(`  in ${last.crumb.function}(), ${last.crumb.kind} breadcrumb, ${ranOn(last)}`);
    out.push(`  ${logPlace(last)}: ${last.text}`);
    return out;
  }
  const lastNote = `${where(last.manifest, last.crumb)}: note: last breadcrumb #${last.crumb.id} (${last.crumb.function})`;
  const shown = focusOf(answer)!;
  if (shown !== last) {
    out.push(`${where(shown.manifest, shown.crumb)}: note: root of the ${hangOrFreeze(root!)} (${root!.reason}): #${shown.crumb.id} (${shown.crumb.function}): ${headline(root!, answer.waits)}`);
  } else {
    const tail = root && root.reason !== 'unknown' ? `; root (${root.reason}): ${headline(root, answer.waits)}` : '';
    const reported = answer.death ? ` (the kernel reported ${answer.death.report.title})` : '';
    const shutdown = shutdownOf(answer);
    if (shutdown) out.push(`${lastNote}: nothing froze: the machine shut down as asked after it (${logPlace(shutdown)}: ${shutdown.text})`);
    else out.push(`${lastNote}: the ${root ? hangOrFreeze(root) : 'freeze'} is at or after this statement${reported}${tail}`);
  }
  if (options.source) out.push(...sourceLines(options.source, shown.crumb.line));
  out.push(`  in ${shown.crumb.function}(), ${shown.crumb.kind} breadcrumb, ${ranOn(shown)}`);
  const held = contextLine(shown.crumb);
  if (held) out.push(`  ${held}`);
  if (answer.quietLoop && shown === last) out.push(`  note: ${quietLoopLine(answer.quietLoop)}`);
  out.push(`  ${logPlace(shown)}: ${shown.text}`);
  if (root && (root.reason !== 'unknown' || answer.threads.length > 1)) {
    out.push(`  root: ${root.reason}, confidence ${root.confidence}: ${root.why}`);
    for (const check of root.checks) out.push(`  kernel: ${check}`);
  }
  if (shown !== last) {
    const wait = answer.waits.find((w) => w.at === last);
    const sleep = answer.sleeps.find((w) => w.task.at === last);
    const doing = wait
      ? `waits for ${wait.site.name}${holdersText(wait)}`
      : sleep
        ? `${describeTask(sleep.task)} waits for ${describeWait(sleep)}: ${holdUp(sleep)}`
        : 'the last breadcrumb printed';
    out.push(`${lastNote}: ${doing}`);
    out.push(`  in ${last.crumb.function}(), ${last.crumb.kind} breadcrumb, ${ranOn(last)}`);
    const lastHeld = contextLine(last.crumb);
    if (lastHeld) out.push(`  ${lastHeld}`);
    if (answer.quietLoop) out.push(`  note: ${quietLoopLine(answer.quietLoop)}`);
    out.push(`  ${logPlace(last)}: ${last.text}`);
  }
  return out;
}

/** Which run of the machine this is: why this last breadcrumb, the ring dump, the boot, a loop it left. */
function runLines({ answer }: Report): string[] {
  const out: string[] = [];
  if (answer.choice) out.push(`  chosen because ${answer.choice}`);
  if (answer.ringDump) out.push(`  ${ringDumpLine(answer.ringDump)}`);
  const boot = answer.boot;
  if (boot && (boot.seen > 1 || boot.number === undefined)) {
    const which = boot.number === undefined ? 'the boot' : `boot ${boot.number}${boot.count ? ` of ${boot.count}` : ''}`;
    const place = logPlace({ lineNumber: boot.firstLineNumber, offset: boot.firstOffset });
    out.push(`  ${which} that starts at ${place}: ${boot.firstLine}`);
  }
  const cycle = answer.cycle;
  if (cycle && !cycle.livelock) {
    const ids = cycle.cycle.map((p) => `#${p.crumb.id}`).join(' ');
    out.push(
      `  it had gone round a ${cycle.shape} of ${cycle.cycle.length} breadcrumb(s) (${ids}) ${turns(cycle)}, then went quiet ` +
        `${cycle.quietSeconds!.toFixed(1)} s before the hang was reported: it stopped on that pass, not a livelock`,
    );
  }
  return out;
}

/** What could have printed next and did not (for a livelock, the cycle itself said it). */
function nextLines({ answer, last, where }: Report): string[] {
  if (answer.cycle?.livelock) return ['']; // what could print next is the cycle itself: only the blank line
  if (crashOf(answer) || shutdownOf(answer)) return ['']; // nothing froze: what could have printed next is no question
  if (answer.next.length === 0) {
    return [
      '',
      `Nothing in ${last.crumb.function}() prints after #${last.crumb.id} (${last.crumb.kind}): the freeze is in what runs next, ` +
        'in its caller after it returns or in code without breadcrumbs.',
    ];
  }
  const out = ['', `Could have printed next and did not (the freeze is between #${last.crumb.id} and these):`];
  for (const next of answer.next) {
    const before = next.quiet
      ? ` [printed ${next.printed}x, its --loop-limit: it may have run since, silently]`
      : next.printed > 0
        ? ` [printed ${next.printed}x earlier in this boot]`
        : '';
    out.push(`${where(next.manifest, next.crumb)}: note: #${next.crumb.id} (${next.crumb.function}, ${next.crumb.kind}): ${next.crumb.statement}${before}`);
  }
  return out;
}

/** The sleeping tasks in the order they wait for each other, the root last. */
function sleepLines({ answer, where }: Report): string[] {
  if (answer.sleeps.length === 0) return [];
  const out = ['', 'Asleep, each waiting for the next (the root last):'];
  for (const wait of sleepOrder(answer)) {
    const rootMark = answer.root?.sleep?.task === wait.task ? '  <- root' : '';
    out.push(`${where(wait.task.at.manifest, wait.task.at.crumb)}: note: ${describeTask(wait.task)} waits for ${describeWait(wait)}, #${wait.task.at.crumb.id} in ${wait.task.at.crumb.function}(): ${holdUp(wait)}${rootMark}`);
    if (wait.task.report) out.push(`  the kernel reported it: ${wait.task.report.header}`);
  }
  return out;
}

/** The root's chain in order (first waiter to the root), then the waits on no chain to it. */
export function sleepOrder(answer: Answer): TaskWait[] {
  const chain = answer.root?.sleep?.chain ?? [];
  return [...answer.sleeps.filter((w) => !chain.includes(w)), ...chain];
}

/** Each thread that waits for a lock, and who holds it. */
function waitLines({ answer, where }: Report): string[] {
  if (answer.waits.length === 0) return [];
  const out = ['', 'Waiting for locks:'];
  for (const wait of answer.waits) {
    out.push(`${where(wait.at.manifest, wait.at.crumb)}: note: ${describeThread(wait.at)} waits for ${wait.site.name} (${wait.site.primitive}, #${wait.at.crumb.id} ${wait.at.crumb.function})`);
    if (wait.holders.length === 0) out.push('  held by no trail: taken in code without breadcrumbs, before the log starts, or not a lock kcrumb knows');
    for (const h of wait.holders) {
      const since = h.held.at;
      out.push(
        `  held by ${h.thread === wait.thread ? 'itself' : describeThread(since)} since #${since.crumb.id} ${where(since.manifest, since.crumb)} ${since.crumb.function}: ${since.crumb.statement}` +
          ` (${describeMatch(h.match, wait.site)}${h.held.maybe ? '; a trylock, held only if it succeeded' : ''})`,
      );
    }
  }
  return out;
}

/** Per thread, its last breadcrumb, what it holds, and the trail that led there. */
function trailLines({ answer, last, where }: Report): string[] {
  const root = answer.root;
  const out = ['', answer.threads.length > 1 ? `Per ${threadNoun(answer.threads)}, last breadcrumb and the trail that led there:` : 'The trail that led there:'];
  for (const thread of answer.threads) {
    const lastOne = thread.crumbs[thread.crumbs.length - 1];
    const mark = lastOne === last ? '  <- last breadcrumb' : '';
    const rootMark = root && root.reason !== 'unknown' && root.at === lastOne ? `  <- root (${root.reason})` : '';
    const holds = (answer.held.get(thread.key) ?? []).map((h) => `${h.site.name} since #${h.at.crumb.id}`);
    const holding = holds.length ? `, holds ${holds.join(', ')}` : '';
    const other = answer.otherCycles.get(thread.key);
    const going = other ? `, ${other.livelock ? 'going round' : 'had gone round'} a ${other.shape} of ${other.cycle.length} breadcrumb(s) ${turns(other)}` : '';
    out.push(`  ${thread.key}: ${thread.count} breadcrumb(s), last #${lastOne.crumb.id} ${lastOne.crumb.function}()${holding}${going}${rootMark}${mark}`);
    for (const s of thread.crumbs) {
      const time = s.time !== undefined ? `[${s.time.toFixed(6)}] ` : '';
      out.push(`    ${time}#${s.crumb.id} ${where(s.manifest, s.crumb)} ${s.crumb.function}${contextTag(s.crumb)}: ${s.crumb.statement}`);
    }
  }
  return out;
}

/** An NMI from outside ended the run: said under the headline, which it does not change. */
function injectedLines({ answer }: Report): string[] {
  const check = answer.injected;
  if (!check) return [];
  const { report } = check;
  const place = logPlace(report);
  const who = report.cpus.length > 0 ? ` on CPU ${report.cpus[0]}` : '';
  const ended = report.panicked ? ` and the kernel panicked on it (${report.panic ?? 'NMI: Not continuing'}, unknown_nmi_panic)` : '';
  const out = [`  ended from outside: an NMI was injected${who} (${report.title}, ${place})${ended}, to end the run and get its dump (QEMU's nmi, virsh inject-nmi, kcrumb hunt): no evidence against any statement`];
  const at = report.guilty;
  const crumb = check.crumb?.crumb;
  const agrees = crumb && at ? (at.function === crumb.function ? `: agrees with its last breadcrumb #${crumb.id}` : `; its last breadcrumb #${crumb.id} is in ${crumb.function}()`) : '';
  if (at) out.push(`  kernel: the NMI found CPU ${report.cpus[0] ?? '?'} in ${frameText(at)}${agrees}`);
  return out;
}

/** The kernel's own lockup reports, checked against the answer. */
function kernelLines({ answer, last }: Report): string[] {
  const out: string[] = [];
  if (answer.reports.length > 0) out.push('', ...reportLines(answer.reports, answer.death));
  if (answer.lockups.length > 0) out.push('', 'Lockup reports against the answer:', ...answer.lockups.flatMap((check) => lockupLines(check, last)));
  return out;
}

/** A ring dump's entry was recorded when it ran and printed only when the kernel died. */
function ranOn(s: Sighting): string {
  return `${s.fromDump ? 'recorded' : 'printed'} on ${describeThread(s)}`;
}

function ringDumpLine(dump: RingDump): string {
  const place = logPlace(dump);
  // entries without a dump's header line: the debugfs file, read while the machine ran
  const when = dump.reason === 'unknown' ? '' : ` printed on ${dump.reason}`;
  const held = dump.reason === 'unknown' || dump.reason === 'sysrq' ? 'when they were read' : 'when the kernel died';
  return `from a kcrumb ring dump${when} at ${place} (${dump.entries} entries): the trails are what the rings held ${held}, timed when each breadcrumb ran`;
}

/** `CPU 1 faulted (BUG: unable to handle kernel paging request in write_metadata_copy)` */
function deathPhrase(check: ReportCheck): string {
  const { report } = check;
  const who = report.cpus.length > 0 ? `CPU ${report.cpus[0]}` : report.task ? `task ${report.task}:${report.pid}` : 'the kernel';
  const work = report.work ? ` in work item ${report.work}${report.workqueue ? ` (workqueue ${report.workqueue})` : ''}` : report.task && report.cpus.length > 0 ? ` (task ${report.task}:${report.pid})` : '';
  return `${who}${work} ${DEATH_VERBS[report.death]} (${report.title})`;
}

/** The headline of a run that crashed or went on: the report, tied to its CPU's or task's last breadcrumb. */
function crashLines(check: ReportCheck, last: Sighting, paths: ReportPaths, source?: SourceWindow): string[] {
  const where = (m: number, c: ManifestCrumb) => `${paths.display(m, c.file)}:${c.line}:${c.column}`;
  const fileOf = (s: Sighting) => paths.display(s.manifest, s.crumb.file);
  const { report } = check;
  const went = report.panicked
    ? `; then the kernel panicked${report.panic ? ` (${report.panic})` : ''}`
    : report.death === 'oops' || report.death === 'bug'
      ? '; the task was killed and the kernel went on'
      : '; the machine went on';
  const out: string[] = [];
  const at = check.crumb;
  if (at) {
    const did = report.death === 'warning' || report.death === 'lockdep' ? 'triggered it' : 'did it';
    out.push(`${where(at.manifest, at.crumb)}: note: ${deathPhrase(check)} right after #${at.crumb.id} (${at.crumb.function}): this statement or a call it makes ${did}${went}`);
  } else {
    out.push(`${where(last.manifest, last.crumb)}: note: ${deathPhrase(check)}${went}; its CPU and task printed no breadcrumb of ours before it: this is only the last breadcrumb printed (#${last.crumb.id}, ${last.crumb.function}, on ${describeThread(last)})`);
  }
  const shown = at ?? last;
  if (source) out.push(...sourceLines(source, shown.crumb.line));
  out.push(`  in ${shown.crumb.function}(), ${shown.crumb.kind} breadcrumb, ${ranOn(shown)}`);
  out.push(`  ${logPlace(shown)}: ${shown.text}`);
  if (report.guilty) out.push(`  guilty frame: ${guiltyText(report.guilty)}${agreement(check, fileOf(shown))}`);
  return out;
}

function guiltyText(frame: Frame): string {
  const place = frame.file ? ` at ${frame.file}:${frame.line}` : '';
  const inlined = frame.inlinedCalls?.length ? ` (inlined there: ${frame.inlinedCalls.map((c) => `${c.function} ${c.file}:${c.line}`).join(' <- ')})` : '';
  return `${frameText(frame)}${place}${inlined}`;
}

/** Whether the guilty frame's line (from --ko and addr2line) is the breadcrumb's. */
export function agreement(check: ReportCheck, crumbFile: string): string {
  const at = check.crumb;
  const guilty = check.report.guilty;
  if (!at || !guilty) return '';
  if (guilty.file && guilty.line !== undefined) {
    const same = sameFile(guilty.file, crumbFile);
    if (same && guilty.function === at.crumb.function) {
      return guilty.line === at.crumb.line ? `: the same line as breadcrumb #${at.crumb.id}` : `: in ${at.crumb.function}() as breadcrumb #${at.crumb.id}, line ${guilty.line} against its line ${at.crumb.line}`;
    }
  }
  if (guilty.function === at.crumb.function) return `: agrees with breadcrumb #${at.crumb.id} (${at.crumb.function})`;
  if (check.verdict === 'agrees-inlined') return `: agrees with breadcrumb #${at.crumb.id}: ${check.frame!.function}() calls ${at.crumb.function}(), inlined`;
  return `: breadcrumb #${at.crumb.id} is in ${at.crumb.function}(), a caller or an earlier step`;
}

/** addr2line prints the path the build saw; the manifest's is relative to its root. */
function sameFile(a: string, b: string): boolean {
  const tail = (p: string) => p.split('/').filter(Boolean).slice(-2).join('/');
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`) || tail(a) === tail(b);
}

/** Every report, in log order: title, where in the log, who, guilty frame. */
function reportLines(reports: readonly ReportCheck[], death?: ReportCheck): string[] {
  const out = ['What the kernel reported:'];
  for (const check of reports) {
    const { report } = check;
    const place = logPlace(report);
    const who = [
      report.cpus.length ? `CPU ${report.cpus.join(',')}` : '',
      report.task ? `task ${report.task}${report.pid !== undefined ? `:${report.pid}` : ''}` : '',
      report.work ? `work ${report.work}${report.workqueue ? ` on ${report.workqueue}` : ''}` : '',
    ].filter(Boolean).join(', ');
    const marks = [check === death ? 'how the run ended' : '', report.death === 'injected' ? 'injected from outside' : '', report.nested ? 'nested in the report before' : '', report.panicked ? 'panicked' : ''].filter(Boolean);
    out.push(`  ${report.title} (${place}${who ? `; ${who}` : ''})${marks.length ? ` [${marks.join('; ')}]` : ''}`);
    if (report.guilty && report.death === 'injected') out.push(`    interrupted in ${guiltyText(report.guilty)}`);
    else if (report.guilty) out.push(`    guilty frame ${guiltyText(report.guilty)}`);
    else if (report.source) out.push(`    at ${report.source.file}:${report.source.line}`);
    if (check.crumb) out.push(`    last breadcrumb of its ${check.crumb.thread.startsWith('T') ? 'task' : 'CPU'} before it: #${check.crumb.crumb.id} (${check.crumb.crumb.function})`);
  }
  return out;
}

/** The root in a few words, for the first line. */
function headline(root: Root, waits: readonly LockWait[]): string {
  const who = describeThread(root.at);
  const lock = root.lock?.site.name ?? 'a lock';
  switch (root.reason) {
    case 'self-deadlock': {
      const since = root.lock?.held?.at.crumb;
      return `${who} takes ${lock} again, held since #${since?.id} (${since?.function})`;
    }
    case 'holds-lock-waited-by': {
      if (root.sleep) return `${describeTask(root.sleep.task)} holds ${root.sleep.chain[root.sleep.chain.length - 1]?.object ?? 'a lock'}, which ${root.sleep.waiters.map((w) => describeTask(w.task)).join(', ')} wait${root.sleep.waiters.length === 1 ? 's' : ''} for`;
      const waiters = waits.filter((w) => w.holders.some((h) => h.thread === root.thread && h.thread !== w.thread));
      return `${who} holds ${lock}${waiters.length ? `, which ${waiters.map((w) => describeThread(w.at)).join(', ')} wait${waiters.length === 1 ? 's' : ''} for` : ''}`;
    }
    case 'abba':
      return `lock order cycle between ${root.cycle?.map((key) => describeThread(waits.find((w) => w.thread === key)?.at ?? root.at)).join(' and ')}`;
    case 'stopped-first':
      return `${who} stopped here first while the others went on`;
    case 'unknown':
      return 'not enough evidence';
    case 'waits-unsignalled':
      return root.sleep?.wait ? `${describeTask(root.sleep.task)} sleeps in ${describeWait(root.sleep.wait)}: ${holdUp(root.sleep.wait)}` : root.why;
    case 'stopped-waited-for':
      return `${root.sleep ? describeTask(root.sleep.task) : who} stopped here, and the others wait for it`;
    case 'deadlock':
      return `a cycle of waits between ${root.sleep?.cycle?.map((w) => describeTask(w.task)).join(' and ')}`;
    case 'livelock':
      return `${who} is busy going round a cycle, not stopped`;
  }
}

function holdersText(wait: LockWait): string {
  const others = wait.holders.filter((h) => h.thread !== wait.thread);
  if (wait.holders.length === 0) return ', which no trail shows held';
  if (others.length === 0) return ', which it holds itself';
  return ` held by ${others.map((h) => describeThread(h.held.at)).join(', ')}`;
}

function turns(cycle: CycleReport): string {
  return `${cycle.repeats} time(s)${cycle.partial ? ` and ${cycle.partial} breadcrumb(s) into another turn` : ''}`;
}

/** The livelock headline (gcc form, at the cycle's first line), one turn of the cycle, and where it began. */
function livelockLines(cycle: CycleReport, where: (m: number, c: ManifestCrumb) => string): string[] {
  const first = cycle.cycle[0];
  const kind = cycle.shape === 'recursion' ? 'a recursion that never returns' : 'a loop that never ends';
  const still =
    cycle.stillGoing === undefined ? 'the log has no timestamps to tell whether it stopped on its last turn' : 'and was still going round when the hang was reported';
  const out = [
    `${where(first.manifest, first.crumb)}: note: livelock on ${cycle.thread}: it went round a cycle of ${cycle.cycle.length} breadcrumb(s) ${turns(cycle)}, ${still} (${kind})`,
    '  one turn of the cycle, in the order it ran:',
  ];
  for (const p of cycle.cycle) out.push(`${where(p.manifest, p.crumb)}: note: #${p.crumb.id} (${p.crumb.function}, ${p.crumb.kind}): ${p.crumb.statement}`);
  const at = logPlace;
  if (cycle.before) {
    const b = cycle.before;
    out.push(`  entered at #${cycle.entered.crumb.id} (${at(cycle.entered)}), right after #${b.crumb.id} ${where(b.manifest, b.crumb)} ${b.crumb.function}: ${b.crumb.statement}`);
  } else {
    out.push(`  entered before the ${cycle.repeats * cycle.cycle.length + cycle.partial} breadcrumbs of this thread kept for cycle detection (first kept: ${at(cycle.entered)})`);
  }
  return out;
}

function sourceLines(source: SourceWindow, mark: number): string[] {
  const width = String(source.firstLine + source.lines.length - 1).length;
  return source.lines.map((text, i) => {
    const n = source.firstLine + i;
    const shown = text.replace(INSERTED_SPAN, ''); // show the code, not kcrumb's own printk
    return `${n === mark ? '>' : ' '} ${String(n).padStart(width)} | ${shown}`;
  });
}

function lockupLines(check: LockupCheck, last: Sighting): string[] {
  const { report, frame } = check;
  const place = logPlace(report);
  const lines = [`  ${report.kind} (${place}): ${report.header}`];
  if (!frame) {
    lines.push('    no frame in an instrumented function in its backtrace');
  } else {
    const name = `${frame.symbol}+0x${frame.offset.toString(16)}/0x${frame.size.toString(16)}${frame.module ? ` [${frame.module}]` : ''}`;
    const sure = frame.reliable ? '' : ' (unreliable "?" frame)';
    const verdict =
      check.verdict === 'agrees'
        ? `agrees with breadcrumb #${last.crumb.id} (${last.crumb.function})`
        : check.verdict === 'agrees-inlined'
          ? `agrees with breadcrumb #${last.crumb.id}: ${frame.function}() calls ${last.crumb.function}(), which the compiler inlined`
          : `disagrees: breadcrumb #${last.crumb.id} is in ${last.crumb.function}()`;
    const about = check.sameThread ? '' : ' (another CPU or task than the answer)';
    lines.push(`    top instrumented frame ${name}${sure}: ${verdict}${about}`);
  }
  return lines;
}

function describeThread(s: Sighting): string {
  if (/^T\d/.test(s.thread)) return `CPU ${s.cpu} by task ${s.thread.slice(1)}`;
  if (/^C\d/.test(s.thread)) return `CPU ${s.cpu} (interrupt context)`;
  return `CPU ${s.cpu}`;
}

function threadNoun(threads: Thread[]): string {
  return threads.some((t) => /^T\d/.test(t.key)) ? 'CPU or task' : 'CPU';
}

/** Where in the log: its line number when the log was read from its start, else its byte offset. */
function logPlace(p: { lineNumber?: number; offset: number }): string {
  return p.lineNumber !== undefined ? `log line ${p.lineNumber}` : `log byte ${p.offset}`;
}
