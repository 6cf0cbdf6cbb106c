import { SOURCE_CLOSE, SOURCE_OPEN, crumbFormat } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';

/** The breadcrumb templates that ship in templates/, by name. */
export const BUILTIN_TEMPLATES = ['printk', 'pr_crit', 'trace_printk'] as const;

/** The CPU the breadcrumb prints: raw_ because breadcrumbs run with preemption on, too. */
const CPU_EXPRESSION = 'raw_smp_processor_id()';

export interface Template {
  name: string;
  /** One C statement with {{text}} (and usually {{cpu}}) in it. */
  statement: string;
}

/**
 * Reads a template file: `#` lines are comments, the one remaining line is the statement. It must be a
 * single line (inserting adds no lines) and must not contain kcrumb's markers or a comment end.
 */
export function parseTemplate(fileText: string, name: string): Template {
  const lines = fileText.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const fail = (why: string) => {
    throw new KcrumbError('template', `template ${name}: ${why}`);
  };
  if (lines.length !== 1) fail(`needs exactly one statement line, found ${lines.length}`);
  const statement = lines[0].trim();
  if (!statement.includes('{{text}}')) fail('has no {{text}} placeholder');
  if (!statement.endsWith(';')) fail('must be one C statement ending in ";"');
  if (statement.includes('*/') || statement.includes(SOURCE_OPEN) || statement.includes(SOURCE_CLOSE)) {
    fail('must not contain a comment end or kcrumb markers');
  }
  return { name, statement };
}

export function renderCrumb(template: Template, tag: string, id: number): string {
  return template.statement.replaceAll('{{text}}', crumbFormat(tag, id)).replaceAll('{{cpu}}', CPU_EXPRESSION);
}

/**
 * A breadcrumb that prints only on the first `limit` passes (--loop-limit): a per-site static counter,
 * declared at the start of its own block so it adds no -Wdeclaration-after-statement warning, with no
 * statement expression, and still one statement on one line. The counter is not atomic: CPUs racing on
 * it can print a pass or two more, never fewer.
 */
export function limitCrumb(statement: string, limit: number): string {
  return `{ static unsigned int kc_n; if (kc_n < ${limit}) { kc_n++; ${statement} } }`;
}
