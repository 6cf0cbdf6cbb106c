/**
 * One folder per report kind under test/fixtures/reports: `log` (a console capture) and `expected.json`
 * (each report's kind, title, CPU, task, work item, guilty frame, ...). A new case is a new folder.
 * KCRUMB_UPDATE=1 writes a missing expected.json (never under CI).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';
import { reportsIn, summary } from './helpers.js';

const DIR = join(REPO, 'test', 'fixtures', 'reports');

describe('kernel reports, one fixture folder per kind', () => {
  for (const name of readdirSync(DIR).sort()) {
    it(name, () => {
      const got = reportsIn(readFileSync(join(DIR, name, 'log'), 'latin1')).map(summary);
      const file = join(DIR, name, 'expected.json');
      if (!existsSync(file)) {
        assert.ok(process.env.KCRUMB_UPDATE === '1' && !process.env.CI, `${file} is missing`);
        writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
      }
      assert.deepEqual(got, JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
