/** The error table: every code's exit status and default hint, and what is not a KcrumbError. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERRORS, EXIT_BAD_INPUT, EXIT_INTERNAL, errorCodeOf, exitCodeFor, hintFor } from '../../src/cli/exit-codes.js';
import { InternalError, KcrumbError } from '../../src/errors.js';

describe('errors table', () => {
  it('maps user errors to 2 and broken invariants (or anything unexpected) to 3', () => {
    for (const [code, entry] of Object.entries(ERRORS)) assert.equal(entry.exit, code === 'internal' ? EXIT_INTERNAL : EXIT_BAD_INPUT, code);
    assert.equal(exitCodeFor(new InternalError('numbered from 3, expected 4')), EXIT_INTERNAL);
    assert.equal(errorCodeOf(new TypeError('x is undefined')), 'internal');
    assert.equal(exitCodeFor(new KcrumbError('no-manifest', 'no manifest in /x/.kcrumb')), EXIT_BAD_INPUT);
  });

  it('gives the code\'s hint unless the throw site has its own', () => {
    assert.match(hintFor(new KcrumbError('no-manifest', 'none'))!, /--manifest FILE\|DIR/);
    assert.equal(hintFor(new KcrumbError('no-manifest', 'none', 'look elsewhere')), 'look elsewhere');
    assert.equal(hintFor(new KcrumbError('usage', 'bad'), 'strip'), 'kcrumb strip --help lists the options, with examples');
    assert.equal(hintFor(new KcrumbError('usage', 'bad')), 'kcrumb --help lists the options, with examples');
    assert.equal(hintFor(new KcrumbError('input', 'x.c: no such file')), undefined);
    assert.match(hintFor(new InternalError('broken'))!, /DEBUG=1/);
  });
});
