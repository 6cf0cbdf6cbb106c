import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { hookFilter } from '../../src/select/select-functions.js';
import { describeHooks, OPS_STRUCTS, REGISTRATION_CALLS } from '../../src/vocabulary/hooks.js';
import { REPO } from '../support/instrument-text.js';

it('docs/hooks.md shows the hook table as --hooks list prints it', () => {
  assert.ok(readFileSync(join(REPO, 'docs', 'hooks.md'), 'utf8').includes(describeHooks()), 'docs/hooks.md is out of date: regenerate its text block from describeHooks()');
});

it('every entry says why, and no struct, field or call is listed twice', () => {
  for (const ops of OPS_STRUCTS) {
    assert.ok(ops.why.length > 20, ops.struct);
    const fields = [...ops.fields, ...(ops.onRequest ?? [])];
    assert.equal(new Set(fields).size, fields.length, ops.struct);
  }
  assert.equal(new Set(OPS_STRUCTS.map((o) => o.struct)).size, OPS_STRUCTS.length);
  assert.equal(new Set(REGISTRATION_CALLS.map((r) => r.call)).size, REGISTRATION_CALLS.length);
});

it('--hooks takes struct.field, struct, field and registration call; refuses an unknown name', () => {
  const probe = hookFilter(['pci_driver.probe']);
  assert.ok(probe.field('pci_driver', 'probe') && !probe.field('pci_driver', 'remove') && !probe.call('request_irq'));
  const blk = hookFilter(['blk_mq_ops']);
  assert.ok(blk.field('blk_mq_ops', 'queue_rq') && !blk.field('blk_mq_ops', 'init_request'));
  const bare = hookFilter(['map', 'request_irq']);
  assert.ok(bare.field('target_type', 'map') && !bare.field('my_own', 'map') && bare.call('request_irq') && !bare.call('timer_setup'));
  const all = hookFilter(undefined);
  assert.ok(all.field('file_operations', 'write_iter') && !all.field('file_operations', 'open') && all.call('INIT_WORK'));
  assert.throws(() => hookFilter(['queu_rq']), /--hooks queu_rq: no ops struct, field or registration call/);
});
