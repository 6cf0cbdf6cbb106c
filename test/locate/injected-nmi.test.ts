/**
 * An NMI sent from outside (QEMU's `nmi`, kcrumb hunt after a silence) to get a dump of a machine that
 * froze where no detector looks: the kernel says `Uhhuh. NMI received for unknown reason`, then `Dazed and
 * confused` or, with unknown_nmi_panic, `Kernel panic - not syncing: NMI: Not continuing`. The report is
 * marked injected; the answer keeps the freeze (root, lock holder, trails) and says the NMI ended the run.
 * From the captured --sink ring log of examples/dm-remap's hang-locked scenario.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { instrumentSources } from '../../src/instrument/instrument.js';
import { parseTemplate } from '../../src/instrument/template.js';
import { formatJson } from '../../src/locate/answer-json.js';
import { formatText } from '../../src/locate/report.js';
import { reportsIn } from '../reports/helpers.js';
import { REPO } from '../support/instrument-text.js';
import { locateText } from './helpers.js';

const EXAMPLE = join(REPO, 'examples', 'dm-remap');
const CAPTURED = readFileSync(join(EXAMPLE, 'captured', 'ring-hang-locked.serial.log'), 'latin1');
const REPORT = readFileSync(join(REPO, 'test', 'fixtures', 'reports', 'unknown-nmi-panic', 'log'), 'latin1');
const UHHUH = /^.*Uhhuh\. NMI received.*$/m;

describe('an NMI injected from outside', async () => {
  it('Uhhuh ... then the panic of unknown_nmi_panic: one report, injected, panicked, the interrupted frame named', () => {
    const reports = reportsIn(REPORT);
    assert.deepEqual(reports.map((r) => [r.kind, r.death, r.panicked, r.panic]), [['unknown-nmi', 'injected', true, 'NMI: Not continuing']]);
    assert.deepEqual(reports[0].cpus, [0]);
    assert.equal(reports[0].guilty?.function, 'remap_map', 'under the NMI handling and the lock slowpath');
  });

  it('without unknown_nmi_panic (Dazed and confused): injected, the machine went on', () => {
    // arch/x86/kernel/nmi.c unknown_nmi_error(): no panic, no stack, only its two lines
    const uhhuh = UHHUH.exec(REPORT)![0];
    const reports = reportsIn(`${uhhuh}\n${uhhuh.replace(/Uhhuh\..*/, 'Dazed and confused, but trying to continue')}\n`);
    assert.deepEqual(reports.map((r) => [r.kind, r.death, r.panicked]), [['unknown-nmi', 'injected', false]]);
  });

  it('the panic alone (its Uhhuh line lost) is the same injected NMI', () => {
    const reports = reportsIn(REPORT.replace(UHHUH, ''));
    assert.deepEqual(reports.map((r) => [r.kind, r.death, r.title]), [['unknown-nmi', 'injected', 'kernel panic: NMI: Not continuing']]);
  });

  const printk = parseTemplate(readFileSync(join(REPO, 'templates', 'printk.tmpl'), 'utf8'), 'printk');
  const sources = ['dm-remap-metadata.c', 'dm-remap-target.c'].map((path) => ({ path, text: readFileSync(join(EXAMPLE, path), 'latin1') }));
  const { manifest } = await instrumentSources(sources, { level: 'every-line', tag: 'kdem', root: EXAMPLE, template: printk });
  const paths = { display: (_m: number, file: number) => manifest.files[file].path };

  it('the answer keeps the freeze: the lock holder is the root, and the NMI is said to have ended the run', () => {
    const answer = locateText(CAPTURED, [manifest]);
    assert.equal(answer.death, undefined, 'the injected NMI is not how the run died');
    assert.equal(answer.injected?.report.kind, 'unknown-nmi');
    assert.equal(answer.root?.reason, 'holds-lock-waited-by');
    assert.equal(answer.root?.at.crumb.function, 'remap_hold_lock');
    const text = formatText(answer, { paths });
    assert.match(text[0], /^dm-remap-target\.c:\d+:\d+: note: root of the freeze \(holds-lock-waited-by\): #\d+ \(remap_hold_lock\): CPU 1 holds rc->lock, which CPU 0 waits for$/);
    assert.doesNotMatch(text.join('\n'), /panicked \(|did it/, 'the last statement is not blamed for the panic');
    assert.ok(text.some((l) => /^ {2}ended from outside: an NMI was injected on CPU 0 .*NMI: Not continuing.*no evidence against any statement$/.test(l)));
    assert.ok(text.some((l) => /^ {2}kernel: the NMI found CPU 0 in remap_map\+0x119\/0x3f0 \[dm_remap\]: agrees with its last breadcrumb #\d+$/.test(l)));
    const json = formatJson(answer, paths) as { death: unknown; injected: { kind: string; cpu: number; panicked: boolean }; reports: { death: string }[] };
    assert.equal(json.death, null);
    assert.deepEqual([json.injected.kind, json.injected.cpu, json.injected.panicked], ['unknown-nmi', 0, true]);
    assert.deepEqual(json.reports.map((r) => r.death), ['injected']);
  });

  it('a real crash before the NMI is still the death', () => {
    const oops = readFileSync(join(EXAMPLE, 'captured', 'oops-null.serial.log'), 'latin1');
    const answer = locateText(`${oops.trimEnd()}\n${REPORT}`, [manifest]);
    assert.equal(answer.death?.report.kind, 'null-deref');
    assert.equal(answer.injected?.report.kind, 'unknown-nmi');
  });
});
