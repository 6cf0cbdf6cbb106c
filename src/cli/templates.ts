import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KcrumbError } from '../errors.js';
import type { Template } from '../breadcrumb.js';
import { BUILTIN_TEMPLATES, checkTemplate, parseTemplate, RING_TEMPLATES } from '../instrument/template.js';
import type { Manifest } from '../manifest/schema.js';
import { PACKAGE_ROOT } from '../version.js';

/** A template by built-in name or file path, checked to render to one expression statement on one line. */
export async function loadTemplate(cwd: string, nameOrPath: string): Promise<Template> {
  const ring = RING_TEMPLATES.find((t) => t.name === nameOrPath);
  if (ring) return ring; // a --sink ring manifest names it (zoom)
  const builtin = (BUILTIN_TEMPLATES as readonly string[]).includes(nameOrPath);
  const path = builtin ? join(PACKAGE_ROOT, 'templates', `${nameOrPath}.tmpl`) : resolve(cwd, nameOrPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new KcrumbError('template', `--template ${nameOrPath}: no such template (built in: ${BUILTIN_TEMPLATES.join(', ')}) or file`);
  }
  const template = parseTemplate(text, nameOrPath);
  await checkTemplate(template);
  return template;
}

/**
 * The statements strip recognises as breadcrumbs: the built-in templates, --sink ring's, and the one
 * each manifest recorded (a template file may be gone or changed since).
 */
export async function knownTemplates(manifests: Pick<Manifest, 'template' | 'templateStatement'>[]): Promise<Template[]> {
  const builtins = await Promise.all(BUILTIN_TEMPLATES.map((name) => loadTemplate(PACKAGE_ROOT, name)));
  const recorded = manifests.flatMap((m) => (m.templateStatement ? [{ name: m.template, statement: m.templateStatement }] : []));
  return [...builtins, ...RING_TEMPLATES, ...recorded];
}
