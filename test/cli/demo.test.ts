// npm run demo as a new user runs it: the answer the README promises, and no terminal escape codes when
// its output is not a terminal (a captured run showed `[1m`). Runs the built CLI (npm test builds first).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/instrument-text.js';

describe('npm run demo', () => {
  it('names the line of the captured freeze, with no escape codes in a pipe', () => {
    const run = spawnSync(join(REPO, 'scripts', 'demo.sh'), { encoding: 'utf8', env: { ...process.env, NO_COLOR: '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^dm-remap-metadata\.c:46:9: note: last breadcrumb #\d+ \(remap_entry_flush\)/m);
    assert.doesNotMatch(run.stdout + run.stderr, /\x1b/);
  });
});
