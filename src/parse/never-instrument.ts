/**
 * Code where a printk can deadlock or is not allowed at all, so kcrumb never instruments it (see
 * docs/printk-in-a-freeze.md): whole files by their place in the kernel tree, and functions
 * that run in NMI context. noinstr functions are refused in functions.ts from their annotation.
 */
import { posix } from 'node:path';

/** Kernel folders whose code printk itself depends on, with why. Matched on the path's folders. */
const NEVER_FOLDERS: { folder: RegExp; why: string }[] = [
  { folder: /(?:^|\/)kernel\/sched\//, why: 'scheduler code (kernel/sched/): printk wakes the console and can deadlock on the runqueue lock' },
  { folder: /(?:^|\/)kernel\/time\//, why: 'timekeeping code (kernel/time/): printk reads the clock and can deadlock on the timekeeping seqlock' },
  { folder: /(?:^|\/)kernel\/printk\//, why: 'printk itself (kernel/printk/): a breadcrumb would recurse into printk and its locks' },
  { folder: /(?:^|\/)drivers\/tty\/serial\//, why: 'serial console code (drivers/tty/serial/): printk can deadlock on the port lock' },
  { folder: /(?:^|\/)drivers\/tty\/vt\//, why: 'VT console code (drivers/tty/vt/): printk can deadlock on the console lock' },
];

/** Why the whole file at `path` (relative to `root`, or absolute) must not be instrumented, if so. */
export function neverInstrumentFile(path: string, root: string): string | undefined {
  const full = posix.resolve(root, path.replaceAll('\\', '/'));
  return NEVER_FOLDERS.find(({ folder }) => folder.test(full))?.why;
}

/**
 * Names of NMI handlers by convention: `*nmi_handler` (perf_event_nmi_handler), `nmi_*` (nmi_cpu_backtrace)
 * and `*_nmi` (exc_nmi, default_do_nmi). Explicit and narrow on purpose: `nmi` elsewhere in a name
 * (touch_nmi_watchdog) is not a handler.
 */
const NMI_HANDLER_NAME = /nmi_handler$|^nmi_|_nmi$/;

/** `register_nmi_handler(NMI_LOCAL, fn, 0, "name")`: the handler is the second argument. */
const NMI_REGISTRATION = /\b(?:__)?register_nmi_handler\s*\(\s*[^,()]+,\s*&?\s*([A-Za-z_]\w*)\s*,/g;

/** The functions of this file that run in NMI context: registered as an NMI handler here, or named like one. */
export function nmiHandlers(text: string): (name: string) => string | undefined {
  const registered = new Set(text.includes('register_nmi_handler') ? [...text.matchAll(NMI_REGISTRATION)].map((m) => m[1]) : []);
  return (name) => {
    if (registered.has(name)) return 'NMI handler (registered with register_nmi_handler): printk from NMI context only stores to the ring buffer, and may deadlock';
    if (NMI_HANDLER_NAME.test(name)) return 'named like an NMI handler (*nmi_handler, nmi_*, *_nmi): printk from NMI context only stores to the ring buffer, and may deadlock';
    return undefined;
  };
}
