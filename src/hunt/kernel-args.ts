/**
 * The guest's kernel command line: what `kcrumb doctor` recommends for a freeze hunt (serial console,
 * loglevel, every hang turned into a panic), plus what only a throwaway VM can afford: detectors that
 * fire within seconds. With panic=-1 (doctor's) and QEMU's -no-reboot, the panic ends QEMU.
 */
import { freezeHuntArgs } from '../doctor/doctor.js';

/**
 * Soft lockups reported after 2 x watchdog_thresh = 4 s, blocked tasks after 10 s (instead of 20 s and
 * 120 s): a VM has nothing else to run, so a false alarm costs one boot, not a production machine.
 */
export const FAST_DETECTOR_ARGS = ['watchdog_thresh=2', 'sysctl.kernel.hung_task_timeout_secs=10'];

/** The serial console QEMU's -serial captures. */
export const GUEST_CONSOLE = 'ttyS0';

/** Command line for a guest booted to catch a freeze; `extra` goes last, so it can override. */
export function guestKernelArgs(extra: string[] = []): string[] {
  return [...freezeHuntArgs(GUEST_CONSOLE), ...FAST_DETECTOR_ARGS, ...extra];
}
