import { stripBreadcrumbs } from '../strip/strip.js';
import { applyInsertions } from './apply.js';
import type { FilePlan } from './plan-file.js';
import { CLOSE_BRACE_TEXT, OPEN_BRACE_TEXT, renderCrumb, type Template } from '../breadcrumb.js';
import { limitCrumb } from './template.js';
import { InternalError } from '../errors.js';

/**
 * The instrumented text of one file: its plan's insertions with breadcrumb numbers from `firstId` on; with
 * `loopLimit`, breadcrumbs inside loops print only on their first loopLimit passes. A template's
 * declaration goes in front of the file's first function, on its line (see FilePlan.declarationOffsets).
 * Checked before it is returned: stripping it must give back the original, byte for byte.
 */
export function renderFile(original: string, plan: FilePlan, template: Template, tag: string, firstId: number, loopLimit?: number): string {
  const insertions = plan.edits.map((edit) => {
    if (edit.type === 'open-brace') return { offset: edit.offset, text: OPEN_BRACE_TEXT };
    if (edit.type === 'close-brace') return { offset: edit.offset, text: CLOSE_BRACE_TEXT };
    const crumb = renderCrumb(template, tag, firstId + edit.site);
    return { offset: edit.offset, text: (loopLimit && plan.sites[edit.site].loop ? limitCrumb(crumb, loopLimit) : crumb) + ' ' };
  });
  if (template.declaration && plan.sites.length > 0) {
    const declaration = template.declaration;
    insertions.unshift(...plan.declarationOffsets.map((offset) => ({ offset, text: declaration + ' ' })));
  }
  const text = applyInsertions(original, insertions);
  const back = stripBreadcrumbs(text, [template]);
  if (back.text !== original || back.problems.length > 0) {
    throw new InternalError(`${plan.path}: the instrumented text does not strip back to the original`);
  }
  return text;
}
