/**
 * The answer as text for a terminal (first line in gcc's form, so editors jump to it), as one JSON object,
 * and as lcov data of the lines whose breadcrumbs printed. Paths and source lines come from the edge.
 */
import { INSERTED_SPAN } from '../breadcrumb.js';
import type { Manifest, ManifestCrumb } from '../manifest/schema.js';
import type { Answer, LockupCheck } from './locate.js';
import { contextLine, contextTag, quietLoopLine } from './crumb-notes.js';
import type { Boot } from './analyze.js';
import type { Sighting, Thread } from './threads.js';

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
  /** Source around the answer's line, when the file could be read. */
  source?: SourceWindow;
}

export function formatText(answer: Answer, options: TextOptions): string[] {
  const out: string[] = [];
  const { paths } = options;
  const last = answer.last;
  if (!last) {
    out.push('kcrumb: no breadcrumb of ours in the log');
    if (answer.hint) out.push(`kcrumb: hint: ${answer.hint}`);
    return out;
  }
  const where = (m: number, c: ManifestCrumb) => `${paths.display(m, c.file)}:${c.line}:${c.column}`;
  out.push(`${where(last.manifest, last.crumb)}: note: last breadcrumb #${last.crumb.id} (${last.crumb.function}): the freeze is at or after this statement`);
  if (options.source) out.push(...sourceLines(options.source, last.crumb.line));
  out.push(`  in ${last.crumb.function}(), ${last.crumb.kind} breadcrumb, printed on ${describeThread(last)}`);
  const held = contextLine(last.crumb);
  if (held) out.push(`  ${held}`);
  if (answer.quietLoop) out.push(`  note: ${quietLoopLine(answer.quietLoop)}`);
  out.push(`  ${logPlace(last)}: ${last.text}`);
  if (answer.choice) out.push(`  chosen because ${answer.choice}`);
  const boot = answer.boot;
  if (boot && (boot.seen > 1 || boot.number === undefined)) {
    const which = boot.number === undefined ? 'the boot' : `boot ${boot.number}${boot.count ? ` of ${boot.count}` : ''}`;
    const place = boot.firstLineNumber !== undefined ? `log line ${boot.firstLineNumber}` : `log byte ${boot.firstOffset}`;
    out.push(`  ${which} that starts at ${place}: ${boot.firstLine}`);
  }

  out.push('');
  if (answer.next.length === 0) {
    out.push(
      `Nothing in ${last.crumb.function}() prints after #${last.crumb.id} (${last.crumb.kind}): the freeze is in what runs next, ` +
        'in its caller after it returns or in code without breadcrumbs.',
    );
  } else {
    out.push(`Could have printed next and did not (the freeze is between #${last.crumb.id} and these):`);
    for (const next of answer.next) {
      const before = next.quiet
        ? ` [printed ${next.printed}x, its --loop-limit: it may have run since, silently]`
        : next.printed > 0
          ? ` [printed ${next.printed}x earlier in this boot]`
          : '';
      out.push(`${where(next.manifest, next.crumb)}: note: #${next.crumb.id} (${next.crumb.function}, ${next.crumb.kind}): ${next.crumb.statement}${before}`);
    }
  }

  out.push('');
  out.push(answer.threads.length > 1 ? `Per ${threadNoun(answer.threads)}, last breadcrumb and the trail that led there:` : 'The trail that led there:');
  for (const thread of answer.threads) {
    const lastOne = thread.crumbs[thread.crumbs.length - 1];
    const mark = lastOne === last ? '  <- this answer' : '';
    out.push(`  ${thread.key}: ${thread.count} breadcrumb(s), last #${lastOne.crumb.id} ${lastOne.crumb.function}()${mark}`);
    for (const s of thread.crumbs) {
      const time = s.time !== undefined ? `[${s.time.toFixed(6)}] ` : '';
      out.push(`    ${time}#${s.crumb.id} ${where(s.manifest, s.crumb)} ${s.crumb.function}${contextTag(s.crumb)}: ${s.crumb.statement}`);
    }
  }

  if (answer.lockups.length > 0) {
    out.push('');
    out.push('What the kernel reported:');
    for (const check of answer.lockups) out.push(...lockupLines(check, last));
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
  const place = report.lineNumber !== undefined ? `log line ${report.lineNumber}` : `log byte ${report.offset}`;
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

function logPlace(s: Sighting): string {
  return s.lineNumber !== undefined ? `log line ${s.lineNumber}` : `log byte ${s.offset}`;
}

/** The JSON answer; field names are a contract for scripts. */
export function formatJson(answer: Answer, paths: ReportPaths): unknown {
  const crumb = (m: number, c: ManifestCrumb) => ({
    id: c.id,
    file: paths.display(m, c.file),
    line: c.line,
    column: c.column,
    function: c.function,
    kind: c.kind,
    statement: c.statement,
    context: c.context ?? null,
    heldBy: c.heldBy ?? null,
    loop: c.loop ?? false,
  });
  const sighting = (s: Sighting) => ({
    ...crumb(s.manifest, s.crumb),
    tag: s.tag,
    cpu: s.cpu,
    thread: s.thread,
    time: s.time ?? null,
    logLine: s.text,
    logLineNumber: s.lineNumber ?? null,
    logOffset: s.offset,
  });
  return {
    status: answer.status,
    last: answer.last ? sighting(answer.last) : null,
    choice: answer.choice ?? null,
    threads: answer.threads.map((t) => ({
      key: t.key,
      cpu: t.crumbs[t.crumbs.length - 1].cpu,
      count: t.count,
      last: sighting(t.crumbs[t.crumbs.length - 1]),
      trail: t.crumbs.slice(0, -1).map(sighting),
    })),
    next: answer.next.map((n) => ({ ...crumb(n.manifest, n.crumb), printed: n.printed, quiet: n.quiet ?? false })),
    boot: answer.boot ?? null,
    lockups: answer.lockups.map((c) => ({
      kind: c.report.kind,
      header: c.report.header,
      lineNumber: c.report.lineNumber ?? null,
      offset: c.report.offset,
      cpus: c.report.cpus,
      task: c.report.task ?? null,
      pid: c.report.pid ?? null,
      frame: c.frame ?? null,
      sameThread: c.sameThread,
      verdict: c.verdict,
    })),
    warnings: answer.warnings,
    hint: answer.hint ?? null,
    quietLoop: answer.quietLoop ? { ...answer.quietLoop, note: quietLoopLine(answer.quietLoop) } : null,
  };
}

/**
 * lcov tracefile: every breadcrumb line of every manifest that printed in this boot, with how often it
 * printed (0 for the ones that never did), so a coverage view shows the path the kernel took.
 */
export function formatLcov(boot: Boot, manifests: readonly Manifest[], absolutePath: (manifest: number, file: number) => string): string {
  const out: string[] = [];
  manifests.forEach((manifest, m) => {
    const printed = boot.printed[m];
    if (!printed.some((count) => count > 0)) return;
    manifest.files.forEach((_, f) => {
      const lines = new Map<number, number>();
      for (const c of manifest.crumbs) if (c.file === f) lines.set(c.line, (lines.get(c.line) ?? 0) + printed[c.id - 1]);
      if (lines.size === 0) return;
      out.push('TN:kcrumb', `SF:${absolutePath(m, f)}`);
      const functions = manifest.functions.filter((fn) => fn.file === f && fn.crumbs);
      for (const fn of functions) out.push(`FN:${fn.line},${fn.name}`);
      let hit = 0;
      for (const fn of functions) {
        const [from, to] = fn.crumbs!;
        const count = Math.max(0, ...printed.slice(from - 1, to));
        if (count > 0) hit++;
        out.push(`FNDA:${count},${fn.name}`);
      }
      out.push(`FNF:${functions.length}`, `FNH:${hit}`);
      const sorted = [...lines].sort((a, b) => a[0] - b[0]);
      for (const [line, count] of sorted) out.push(`DA:${line},${count}`);
      out.push(`LF:${sorted.length}`, `LH:${sorted.filter(([, count]) => count > 0).length}`, 'end_of_record');
    });
  });
  return out.length ? out.join('\n') + '\n' : '';
}
