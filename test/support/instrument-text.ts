import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { instrumentSources, type InstrumentOptions, type InstrumentResult, type SourceFile } from '../../src/instrument/instrument.js';
import { parseTemplate } from '../../src/instrument/template.js';
import type { Level } from '../../src/manifest/schema.js';

export const REPO = join(import.meta.dirname, '..', '..');
export const FIXED_TAG = 'kfix';

/** Instruments in-memory sources with the default printk template and a fixed tag. */
/** The default template, as instrumentForTest uses it. */
export const PRINTK_TEMPLATE = parseTemplate(readFileSync(join(REPO, 'templates', 'printk.tmpl'), 'utf8'), 'printk');

export function instrumentForTest(
  files: SourceFile[],
  options: Partial<InstrumentOptions> & { level: Level },
): Promise<InstrumentResult> {
  return instrumentSources(files, { template: PRINTK_TEMPLATE, tag: FIXED_TAG, root: '/src', now: new Date(0), ...options });
}
