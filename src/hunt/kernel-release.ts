/**
 * The release a kernel image, a kbuild tree and a module were made for, and whether they agree:
 * insmod refuses a module whose vermagic differs from the running kernel, so a mismatch found after
 * booting would cost a boot and say less.
 */

/**
 * An x86 bzImage's release: the setup header ("HdrS" at 0x202) points at the version string
 * (kernel_version at 0x20E, relative to 0x200), "6.1.0-57-amd64 (debian-kernel@...) #1 SMP ...".
 */
export function bzImageRelease(image: Buffer): string | undefined {
  if (image.length < 0x210 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const at = image.readUInt16LE(0x20e) + 0x200;
  if (at >= image.length) return undefined;
  const end = image.indexOf(0, at);
  const version = image.toString('latin1', at, end === -1 ? Math.min(image.length, at + 256) : end);
  return /^(\S+)/.exec(version)?.[1];
}

/** include/generated/utsrelease.h of a kbuild tree: `#define UTS_RELEASE "6.1.0-57-amd64"`. */
export function utsRelease(header: string): string | undefined {
  return /#define\s+UTS_RELEASE\s+"([^"]+)"/.exec(header)?.[1];
}

/** `modinfo -F vermagic`: "6.1.0-57-amd64 SMP preempt mod_unload modversions" -> its release. */
export function vermagicRelease(vermagic: string): string | undefined {
  return /^(\S+)/.exec(vermagic.trim())?.[1];
}

export interface ReleaseFacts {
  /** What each piece says, by the name the user knows it by (`--kernel vmlinuz-6.1.0-57-amd64`). */
  pieces: { what: string; release?: string }[];
}

/** The one-line disagreement, or undefined when every piece that told its release tells the same. */
export function releaseMismatch(facts: ReleaseFacts): string | undefined {
  const known = facts.pieces.filter((p) => p.release !== undefined);
  const first = known[0];
  const other = known.find((p) => p.release !== first?.release);
  if (!first || !other) return undefined;
  return `${first.what} is ${first.release} but ${other.what} is ${other.release}: the module would not load (vermagic)`;
}
