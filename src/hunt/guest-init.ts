/**
 * The /init of a hunt's initramfs (busybox sh as PID 1), and what its marker lines in the serial log
 * say about how the run went. /init loads the modules in order, then runs the reproduction script with
 * PATH set to what was packed, and powers off when the script returns: a run that ends any other way
 * was ended by the kernel (a panic) or by the host (the timeout).
 */

/** Where the packed files go in the guest. */
export const GUEST_PATHS = { modules: 'lib/modules/kcrumb', script: 'kcrumb/repro', added: 'kcrumb/added' } as const;

const MARK = 'KCRUMB-HUNT';

export interface GuestInitOptions {
  /** Guest paths of the modules to insmod, dependencies first, the module under test last. */
  modules: string[];
  /** Guest path of the script. */
  script: string;
}

/** Shell-quoted for sh: one word whatever the characters. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function guestInit(options: GuestInitOptions): string {
  const loads = options.modules.map((m) => `load ${quote('/' + m.replace(/^\/+/, ''))}`).join('\n');
  return `#!/bin/sh
# /init of a kcrumb hunt (busybox sh, PID 1): load the modules, run the script, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# No udev here: dmsetup and friends must not wait for it.
export DM_DISABLE_UDEV=1 HOME=/tmp
echo "${MARK}-INIT uptime=$(cut -d' ' -f1 /proc/uptime) cpus=$(nproc)"
load() {
	if ! insmod "$1"; then
		echo "${MARK}-LOAD-FAILED $1"
		poweroff -f
	fi
}
${loads}
echo "${MARK}-LOADED"
chmod 755 ${quote('/' + options.script)}
cd /tmp
echo "${MARK}-SCRIPT-START uptime=$(cut -d' ' -f1 /proc/uptime)"
${quote('/' + options.script)}
echo "${MARK}-SCRIPT-EXIT $? uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
`;
}

/** What the serial log says of a hunt run. */
export interface GuestProgress {
  /** The insmod that failed, and the lines it and the kernel printed about it. */
  loadFailed?: { module: string; messages: string[] };
  scriptStarted: boolean;
  /** The script's exit status, when it returned. */
  scriptExit?: number;
  /** The kernel panicked ("Kernel panic - not syncing: ..."): its reason. */
  panic?: string;
}

export function guestProgress(serial: string): GuestProgress {
  const lines = serial.split(/\r?\n/);
  const progress: GuestProgress = { scriptStarted: false };
  const loaded = lines.findIndex((l) => l.includes(`${MARK}-LOADED`));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const failed = new RegExp(`${MARK}-LOAD-FAILED (\\S+)`).exec(line);
    if (failed && (loaded === -1 || i < loaded)) {
      const init = lines.findIndex((l) => l.includes(`${MARK}-INIT`));
      const said = lines.slice(Math.max(init + 1, i - 8), i).filter((l) => /insmod|module|symbol|\S+: /.test(l));
      progress.loadFailed = { module: failed[1].replace(/^.*\//, ''), messages: said.map((l) => l.trim()) };
    }
    if (line.includes(`${MARK}-SCRIPT-START`)) progress.scriptStarted = true;
    const exit = new RegExp(`${MARK}-SCRIPT-EXIT (\\d+)`).exec(line);
    if (exit) progress.scriptExit = Number(exit[1]);
    const panic = /Kernel panic - not syncing: (.*)$/.exec(line);
    if (panic && progress.panic === undefined) progress.panic = panic[1].trim();
  }
  return progress;
}

/** The marker after which the console's silence means the script is stuck (the NMI timer starts here). */
export const SCRIPT_START_MARK = `${MARK}-SCRIPT-START`;
