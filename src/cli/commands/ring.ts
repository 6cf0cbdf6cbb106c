import { release } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { displayPath } from '../source-files.js';
import { buildRing, defaultKdir } from '../ring-build.js';

interface RingBuildFlags {
  kdir?: string;
  out: string;
  werror: boolean;
  json?: boolean;
}

export function registerRing(ring: Command, ctx: CommandContext): void {
  ring.description(
      'kcrumb instrument --sink ring makes every breadcrumb a call to kcrumb_ring_record in kcrumb_ring.ko: ' +
        'the breadcrumb\'s number, the CPU\'s local_clock() and the pid go to a per-CPU ring in memory (no console ' +
        'write, no lock, safe with interrupts off and in NMIs). When the kernel panics or oopses, the module prints ' +
        'the last entries of every CPU in time order as "kcrumb-ring: kq7x#87@1 t=12.345678901" lines, which ' +
        'kcrumb locate-freeze reads like live breadcrumbs. A freeze that never panics prints nothing: make every ' +
        'freeze end in a panic (kcrumb doctor lists the settings).',
    );
  ring
    .command('build')
    .summary('build kcrumb_ring.ko for a kernel with kbuild')
    .description('Copy the module\'s source (kcrumb_ring.c, Kbuild) into a folder and build it against a kernel\'s build folder.')
    .option('--kdir <dir>', `the kernel's build folder (default: ${defaultKdir('$(uname -r)')})`)
    .option('-o, --out <dir>', 'where to build it', '.kcrumb/ring')
    .option('--no-werror', 'do not build with KCFLAGS=-Werror')
    .option('--json', 'print the paths as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ kcrumb instrument --sink ring drivers/md/dm-remap.c
  $ kcrumb ring build
  $ make -C /lib/modules/$(uname -r)/build M=$PWD/drivers/md KBUILD_EXTRA_SYMBOLS=$PWD/.kcrumb/ring/Module.symvers modules
  $ insmod .kcrumb/ring/kcrumb_ring.ko && insmod drivers/md/dm-remap.ko
  ... the machine panics; its console log (serial, netconsole, pstore) holds the dump ...
  $ kcrumb locate-freeze console.log

On the running machine: cat /sys/kernel/debug/kcrumb_ring (the whole ring), echo y > /proc/sysrq-trigger (a
dump to the console). Module parameters: entries=4096 (per CPU, a power of two), dump=64 (printed per CPU
when the kernel dies), sysrq_key=y.`,
    )
    .action(async (flags: RingBuildFlags) => {
      const kdir = resolve(ctx.cwd, flags.kdir ?? defaultKdir(release()));
      if (ctx.output.interactive) ctx.output.status(`kcrumb: building kcrumb_ring.ko against ${kdir}...`);
      const built = await buildRing({ kdir, outDir: resolve(ctx.cwd, flags.out), werror: flags.werror });
      if (ctx.output.interactive) ctx.output.status('\r\x1b[K');
      if (flags.json) {
        ctx.output.out(JSON.stringify({ kdir, ...built }, null, 2));
        return;
      }
      ctx.output.out(`kcrumb: built ${displayPath(ctx.cwd, built.ko)} for ${kdir}`);
      ctx.output.out(`kcrumb: build the instrumented module with: KBUILD_EXTRA_SYMBOLS=${built.symvers}`);
      ctx.output.out(`kcrumb: load ${displayPath(ctx.cwd, built.ko)} before it; it prints its rings on panic and oops`);
    });
}
