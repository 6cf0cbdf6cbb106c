/** The answer as one JSON object for scripts (`--json`); its field names are a contract. */
import type { ManifestCrumb } from '../manifest/schema.js';
import { type Frame } from '../reports/frame.js';
import type { CycleReport, PlacedPoint } from './livelock.js';
import type { Answer, ReportCheck } from './locate.js';
import { notAFreeze } from './death.js';
import { quietLoopLine } from './crumb-notes.js';
import type { HeldLock } from './locks.js';
import type { Root } from './root.js';
import type { Sighting } from './threads.js';
import type { Task, TaskWait } from './waits.js';
import { holdUp } from './wait-words.js';
import { sleepOrder, type ReportPaths } from './report.js';

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
    fromDump: s.fromDump ?? false,
  });
  const held = (h: HeldLock) => ({ lock: h.site.name, primitive: h.site.primitive, maybe: h.maybe, ...sighting(h.at) });
  const task = (t: Task) => ({
    key: t.key,
    name: t.name ?? null,
    cpu: t.at.cpu,
    report: t.report ? { kind: t.report.kind, header: t.report.header, pid: t.report.pid ?? null, task: t.report.task ?? null } : null,
    reports: t.report ? [t.report.header] : [],
    holds: t.holds.map(held),
    last: sighting(t.at),
    path: t.path.slice(-12, -1).map(sighting),
  });
  const sleepWait = (w: TaskWait) => ({
    waitKind: w.kind,
    call: w.call,
    object: w.object ?? null,
    lock: ['mutex', 'rt_mutex', 'rwsem', 'semaphore'].includes(w.kind) ? (w.object ?? null) : null,
    primitive: w.call,
    task: w.task.key,
    taskName: w.task.name ?? null,
    ...sighting(w.task.at),
    heldBy: w.holders.map((h) => ({ task: h.key, taskName: h.name ?? null, ...sighting(h.at) })),
    handlers: w.handlers,
    signallers: w.signallers.map((s) => crumb(s.manifest, s.crumb)),
    holdUp: holdUp(w),
  });
  const root = (r: Root) => ({
    reason: r.reason,
    task: r.sleep?.task.name ?? null,
    waitsFor: r.sleep?.wait ? { kind: r.sleep.wait.kind, call: r.sleep.wait.call, object: r.sleep.wait.object ?? null } : null,
    chain: r.sleep ? r.sleep.chain.map((w) => ({ task: w.task.key, taskName: w.task.name ?? null, waitKind: w.kind, object: w.object ?? null, ...crumb(w.task.at.manifest, w.task.at.crumb) })) : null,
    ...sighting(r.at),
    why: r.why,
    confidence: r.confidence,
    lock: r.lock ? { name: r.lock.site.name, type: r.lock.site.type ?? null, heldSince: r.lock.held ? held(r.lock.held) : null, match: r.lock.match ?? null } : null,
    cycle: r.cycle ?? null,
    checks: r.checks,
  });
  const placed = (p: PlacedPoint) => ({ ...crumb(p.manifest, p.crumb), time: p.time ?? null, logLineNumber: p.lineNumber ?? null, logOffset: p.offset });
  const cycleJson = (c: CycleReport) => ({
    thread: c.thread,
    shape: c.shape,
    cycle: c.cycle.map((p) => crumb(p.manifest, p.crumb)),
    repeats: c.repeats,
    partial: c.partial,
    entered: placed(c.entered),
    before: c.before ? placed(c.before) : null,
    stillGoing: c.stillGoing ?? null,
    quietSeconds: c.quietSeconds ?? null,
  });
  return {
    status: answer.status,
    root: answer.root ? root(answer.root) : null,
    waiting: [
      ...answer.waits.map((w) => ({
        waitKind: 'spinning-lock',
        object: w.site.name,
        lock: w.site.name,
        primitive: w.site.primitive,
        mode: w.site.mode,
        type: w.site.type ?? null,
        ...sighting(w.at),
        heldBy: w.holders.map((h) => ({ match: h.match, ...held(h.held) })),
      })),
      ...sleepOrder(answer).map(sleepWait),
    ],
    tasks: answer.tasks.map(task),
    last: answer.last ? sighting(answer.last) : null,
    choice: answer.choice ?? null,
    threads: answer.threads.map((t) => ({
      key: t.key,
      cpu: t.crumbs[t.crumbs.length - 1].cpu,
      count: t.count,
      holds: (answer.held.get(t.key) ?? []).map(held),
      last: sighting(t.crumbs[t.crumbs.length - 1]),
      trail: t.crumbs.slice(0, -1).map(sighting),
      cycle: ((c) => (c ? cycleJson(c) : null))(t.key === answer.last?.thread ? answer.cycle : answer.otherCycles.get(t.key)),
    })),
    next: answer.next.map((n) => ({ ...crumb(n.manifest, n.crumb), printed: n.printed, quiet: n.quiet ?? false })),
    livelock: answer.cycle?.livelock ? cycleJson(answer.cycle) : null,
    cycle: answer.cycle ? cycleJson(answer.cycle) : null,
    boot: answer.boot ?? null,
    ringDump: answer.ringDump ?? null,
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
    reports: answer.reports.map((c) => reportJson(c, sighting)),
    death: answer.death
      ? { kind: answer.death.report.kind, death: answer.death.report.death, title: answer.death.report.title, freeze: !notAFreeze(answer.death.report.death), report: answer.reports.indexOf(answer.death) }
      : null,
    injected: answer.injected
      ? { kind: answer.injected.report.kind, title: answer.injected.report.title, cpu: answer.injected.report.cpus[0] ?? null, panicked: answer.injected.report.panicked, report: answer.reports.indexOf(answer.injected) }
      : null,
    warnings: answer.warnings,
    hint: answer.hint ?? null,
    quietLoop: answer.quietLoop ? { ...answer.quietLoop, note: quietLoopLine(answer.quietLoop) } : null,
  };
}

/** One report in --json (`reports`); `lockups` keeps its older shape for one release. */
function reportJson(check: ReportCheck, sighting: (s: Sighting) => unknown) {
  const { report } = check;
  const frame = (f: Frame) => ({
    function: f.function,
    symbol: f.symbol,
    offset: f.offset,
    size: f.size,
    module: f.module ?? null,
    reliable: f.reliable,
    pc: f.pc ?? false,
    interrupt: f.interrupt ?? false,
    file: f.file ?? null,
    line: f.line ?? null,
    inlinedCalls: f.inlinedCalls ?? null,
  });
  return {
    kind: report.kind,
    death: report.death,
    title: report.title,
    header: report.header,
    cpu: report.cpus[0] ?? null,
    cpus: report.cpus,
    task: report.task ?? null,
    pid: report.pid ?? null,
    workqueue: report.workqueue ?? null,
    work: report.work ?? null,
    frames: report.frames.map(frame),
    guilty: report.guilty ? frame(report.guilty) : null,
    source: report.source ?? null,
    access: report.access ?? null,
    lineNumber: report.lineNumber ?? null,
    offset: report.offset,
    time: report.time ?? null,
    panicked: report.panicked,
    panic: report.panic ?? null,
    nested: report.nested,
    backtraces: report.backtraces.map((b) => ({ cpu: b.cpus[0] ?? null, task: b.task ?? null, pid: b.pid ?? null, frames: b.frames.map(frame) })),
    lastCrumb: check.crumb ? sighting(check.crumb) : null,
    verdict: check.verdict,
  };
}
