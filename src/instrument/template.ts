import { RING_RECORD, SOURCE_CLOSE, SOURCE_OPEN, renderCrumb, type Template } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';
import { parseC } from '../parse/c-parser.js';

/** The breadcrumb templates that ship in templates/, by name. */
export const BUILTIN_TEMPLATES = ['printk', 'pr_crit', 'trace_printk'] as const;

/** Where breadcrumbs go: printk (a template) or kcrumb_ring.ko's per-CPU rings. */
export const SINKS = ['printk', 'ring'] as const;
export type Sink = (typeof SINKS)[number];

/**
 * `--sink ring`: no console write, a call into kcrumb_ring.ko. Its declaration uses only built-in types,
 * so it needs no header and can sit in front of the file's first function.
 */
export const RING_TEMPLATE: Template = {
  name: 'ring',
  statement: `${RING_RECORD}({{tagword}}, {{id}});`,
  declaration: `extern void ${RING_RECORD}(unsigned int tag, unsigned int id);`,
};

/** `--sink ring --task-id`: the record keeps the task's pid too; the dump prints it as `kq7x#87@1.233`. */
export const RING_TASK_TEMPLATE: Template = {
  name: 'ring-task',
  statement: `${RING_RECORD}_task({{tagword}}, {{id}});`,
  declaration: `extern void ${RING_RECORD}_task(unsigned int tag, unsigned int id);`,
  taskId: true,
};

/** The ring templates by the name a manifest records. */
export const RING_TEMPLATES = [RING_TEMPLATE, RING_TASK_TEMPLATE];

/**
 * Reads a template file: `#` lines are comments, the one remaining line is the statement. It must be a
 * single line (inserting adds no lines) and must not contain kcrumb's markers or a comment end.
 */
export function parseTemplate(fileText: string, name: string): Template {
  const lines = fileText.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
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

/**
 * A template must render to exactly one C expression statement on one line, and nothing else: a
 * `// comment` would swallow the statement kcrumb puts the breadcrumb in front of, a second statement
 * (`...; return;`) changes control flow, a CR or other control character moves line numbers or hides text.
 * Checked by parsing the rendered breadcrumb with tree-sitter.
 */
export async function checkTemplate(template: Template): Promise<void> {
  const fail = (why: string) => {
    throw new KcrumbError('template', `template ${template.name}: ${why}`);
  };
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(template.statement);
  if (control) fail(`holds control character 0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}: a breadcrumb must stay on one line`);
  const rendered = renderCrumb(template, 'k000', 1);
  const prefix = 'void kc_f(void) { ';
  const root = await parseC(`${prefix}${rendered}\n}`);
  const body = root.namedChild(0)?.childForFieldName('body');
  const statements = body?.namedChildren ?? [];
  const only = statements[0];
  if (root.hasError || !body || statements.length !== 1 || only.type !== 'expression_statement') {
    const found = statements.map((n) => n.type.replaceAll('_', ' ')).join(', ') || 'nothing';
    fail(`must render to exactly one C expression statement, like printk(KERN_CRIT "{{text}}\\n", {{cpu}}); (found: ${root.hasError ? 'a syntax error' : found})`);
  }
  if (only.startIndex !== prefix.length || only.endIndex !== prefix.length + rendered.length) fail('holds text outside its one statement');
}

/** The template printing the task's pid after the CPU, through the same {{cpu}} placeholder. */
export function withTaskId(template: Template): Template {
  if (!template.statement.includes('{{cpu}}') || !template.statement.includes('{{text}}')) {
    throw new KcrumbError('template', `template ${template.name}: --task-id needs {{text}} and {{cpu}} placeholders to print the pid after the CPU`);
  }
  return { ...template, taskId: true };
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
