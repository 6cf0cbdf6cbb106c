import { parseLogLine } from '../../src/log/log-line.js';
import { ReportParser, type KernelReport } from '../../src/reports/parse.js';

/** Every report of a log, titled. */
export function reportsIn(log: string): KernelReport[] {
  const parser = new ReportParser();
  let offset = 0;
  log.split('\n').forEach((line, i) => {
    parser.feed(parseLogLine(line), i + 1, offset);
    offset += line.length + 1;
  });
  return parser.end();
}

/** What a fixture's expected.json holds of each report. */
export function summary(report: KernelReport) {
  return {
    kind: report.kind,
    title: report.title,
    cpus: report.cpus,
    task: report.task ?? null,
    pid: report.pid ?? null,
    workqueue: report.workqueue ?? null,
    work: report.work ?? null,
    guilty: report.guilty ? { function: report.guilty.function, offset: report.guilty.offset, module: report.guilty.module ?? null } : null,
    source: report.source ?? null,
    access: report.access ?? null,
    lineNumber: report.lineNumber ?? null,
    panicked: report.panicked,
    nested: report.nested,
    frames: report.frames.length,
  };
}
