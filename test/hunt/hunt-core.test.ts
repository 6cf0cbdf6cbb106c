/** The pure stages of kcrumb hunt: initramfs tree and archive, module load order, script commands, releases, guest markers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpioArchive } from '../../src/hunt/cpio.js';
import { guestInit, guestProgress } from '../../src/hunt/guest-init.js';
import { initramfsEntries } from '../../src/hunt/initramfs.js';
import { guestKernelArgs } from '../../src/hunt/kernel-args.js';
import { bzImageRelease, releaseMismatch, utsRelease, vermagicRelease } from '../../src/hunt/kernel-release.js';
import { loadOrder, moduleName, parseDepends, parseModulesDep } from '../../src/hunt/module-deps.js';
import { interpreter, scriptCommands } from '../../src/hunt/script-commands.js';

/** Names and modes of a newc archive, read back. */
function readCpio(archive: Buffer): { name: string; mode: number; data: string }[] {
  const out: { name: string; mode: number; data: string }[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    assert.equal(archive.toString('latin1', at, at + 6), '070701', `magic at ${at}`);
    const field = (i: number) => parseInt(archive.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('latin1', at + 110, at + 110 + nameSize - 1);
    const dataAt = align(at + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, data: archive.toString('latin1', dataAt, dataAt + size) });
    at = align(dataAt + size);
  }
}

describe('initramfs', () => {
  it('puts every folder before what it holds, once, and round-trips through newc', () => {
    const entries = initramfsEntries([
      { name: '/usr/lib/x86_64-linux-gnu/libc.so.6', type: 'file', data: Buffer.from('libc'), mode: 0o755 },
      { name: 'kcrumb/added/deep/x', type: 'file', data: Buffer.from('abc') },
      { name: 'kcrumb/added/deep', type: 'dir' },
      { name: 'bin/sh', type: 'symlink', target: 'busybox' },
      { name: 'bin/sh', type: 'symlink', target: 'other' },
    ]);
    const read = readCpio(cpioArchive(entries));
    const names = read.map((e) => e.name);
    assert.equal(new Set(names).size, names.length, 'no name twice');
    for (const [i, e] of read.entries()) {
      const parent = e.name.split('/').slice(0, -1).join('/');
      if (parent) assert.ok(names.indexOf(parent) >= 0 && names.indexOf(parent) < i, `${parent} before ${e.name}`);
    }
    assert.equal(read.find((e) => e.name === 'bin/sh')!.data, 'busybox', 'first entry of a name wins');
    assert.equal(read.find((e) => e.name === 'dev/console')!.mode, 0o020600);
    assert.equal(read.find((e) => e.name === 'kcrumb/added/deep/x')!.data, 'abc');
  });
});

describe('module load order', () => {
  it('loads dependencies first, each once, and names the unknown ones', () => {
    const dep = parseModulesDep(
      [
        'kernel/drivers/md/dm-thin-pool.ko: kernel/drivers/md/persistent-data/dm-persistent-data.ko kernel/drivers/md/dm-bio-prison.ko kernel/drivers/md/dm-mod.ko',
        'kernel/drivers/md/persistent-data/dm-persistent-data.ko: kernel/drivers/md/dm-bufio.ko',
        'kernel/drivers/md/dm-bufio.ko:',
        'kernel/drivers/md/dm-bio-prison.ko: kernel/drivers/md/dm-mod.ko',
        'kernel/drivers/md/dm-mod.ko:',
      ].join('\n'),
    );
    const depends = (name: string) => (name === 'mine' ? parseDepends('dm-thin-pool,dm_mod,nosuch') : dep.get(name)?.depends);
    const { order, missing } = loadOrder(['mine.ko'], depends);
    assert.deepEqual(order, ['dm_bufio', 'dm_persistent_data', 'dm_mod', 'dm_bio_prison', 'dm_thin_pool']);
    assert.deepEqual(missing, ['nosuch']);
    assert.equal(moduleName('kernel/drivers/md/dm-mod.ko.xz'), 'dm_mod');
  });
});

describe('script commands', () => {
  it('finds the programs in command position, not builtins, keywords, functions or arguments', () => {
    const script = `#!/bin/sh
set -e
wipe() { dd if=/dev/zero of="$1" bs=4k count=1; }
echo "0 $(blockdev --getsz /dev/ram0) remap /dev/ram0 /dev/ram1" | dmsetup create remap0
for s in 1000 2000; do dmsetup message remap0 0 remap $s; done # remap each
if ! grep -q crumb /tmp/x; then wipe /dev/ram1; fi
taskset 2 dd if=/dev/mapper/remap0 of=/dev/null &
X=1 sleep 0.5
case "$1" in a) mkfs.ext2 /dev/ram0 ;; esac
echo 'not | a command'
$TOOL --flag
i=$((i + 1)); while [ $i -lt 3 ]; do i=$((i + 1)); done
`;
    assert.deepEqual(scriptCommands(script), ['blockdev', 'dd', 'dmsetup', 'grep', 'mkfs.ext2', 'sleep', 'taskset']);
    assert.equal(interpreter(script), '/bin/sh');
    assert.equal(interpreter('#!/usr/bin/env bash\n'), 'bash');
  });
});

describe('kernel releases', () => {
  it('reads the release of a bzImage, a kbuild tree and a vermagic, and names a mismatch', () => {
    const image = Buffer.alloc(0x400);
    image.write('HdrS', 0x202, 'latin1');
    image.writeUInt16LE(0x100, 0x20e);
    image.write('6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP\0', 0x300, 'latin1');
    assert.equal(bzImageRelease(image), '6.1.0-57-amd64');
    assert.equal(bzImageRelease(Buffer.alloc(0x400)), undefined);
    assert.equal(utsRelease('#define UTS_RELEASE "6.1.0-57-amd64"\n'), '6.1.0-57-amd64');
    assert.equal(vermagicRelease('6.1.0-57-amd64 SMP preempt mod_unload modversions'), '6.1.0-57-amd64');
    assert.equal(releaseMismatch({ pieces: [{ what: 'a', release: 'x' }, { what: 'b' }, { what: 'c', release: 'x' }] }), undefined);
    assert.match(releaseMismatch({ pieces: [{ what: '--kernel k', release: '6.1.0-57-amd64' }, { what: '--kdir h', release: '6.18.4' }] })!, /--kernel k is 6\.1\.0-57-amd64 but --kdir h is 6\.18\.4/);
  });
});

describe('guest init and its markers', () => {
  it('loads the modules in order before the script, and its markers tell how the run went', () => {
    const init = guestInit({ modules: ['lib/modules/kcrumb/dm-mod.ko', "lib/modules/kcrumb/it's.ko"], script: 'kcrumb/repro' });
    assert.ok(init.indexOf("load '/lib/modules/kcrumb/dm-mod.ko'") < init.indexOf(`load '/lib/modules/kcrumb/it'\\''s.ko'`));
    assert.ok(init.indexOf('KCRUMB-HUNT-LOADED') < init.indexOf("'/kcrumb/repro'\n"));
    const failed = guestProgress('KCRUMB-HUNT-INIT\n[ 1.0] remap: Unknown symbol dm_foo (err -2)\ninsmod: can\'t insert \'/lib/x.ko\': unknown symbol in module\nKCRUMB-HUNT-LOAD-FAILED /lib/x.ko\n');
    assert.equal(failed.loadFailed?.module, 'x.ko');
    assert.equal(failed.loadFailed?.messages.length, 2);
    assert.equal(failed.scriptStarted, false);
    const exited = guestProgress('KCRUMB-HUNT-LOADED\nKCRUMB-HUNT-SCRIPT-START uptime=1\nKCRUMB-HUNT-SCRIPT-EXIT 3 uptime=2\n');
    assert.deepEqual(exited, { scriptStarted: true, scriptExit: 3 });
    assert.equal(guestProgress('[ 9.1] Kernel panic - not syncing: softlockup: hung tasks\r\n').panic, 'softlockup: hung tasks');
  });

  it('takes the console and hang-to-panic knobs from doctor, the fast detectors last but before extras', () => {
    const args = guestKernelArgs(['x=1']);
    assert.deepEqual(args.slice(0, 2), ['console=ttyS0,115200', 'loglevel=7']);
    for (const knob of ['panic=-1', 'softlockup_panic=1', 'sysctl.kernel.panic_on_rcu_stall=1', 'unknown_nmi_panic', 'watchdog_thresh=2']) assert.ok(args.includes(knob), knob);
    assert.equal(args.at(-1), 'x=1');
  });
});
