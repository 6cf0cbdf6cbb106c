/**
 * One backtrace frame as the kernel prints it, in each unwinder's form:
 * ` remap_map+0x45/0x90 [dm_remap]`, ` ? remap_map+0x45/0x90` (a guess of the unwinder),
 * ` [<ffffffff8123>] remap_map+0x45/0x90` (older kernels), `RIP: 0010:remap_map+0x45/0x90`,
 * `pc : remap_map+0x45/0x90` (arm64), powerpc's `[c000..] [c000..] remap_map+0x45/0x90 (unreliable)` and
 * `--- interrupt: 700 at remap_map+0x45/0x90` (its RIP line), and frames a symbolizer already resolved:
 * ` remap_map+0x45/0x90 drivers/md/dm-remap.c:123` or ` remap_lookup drivers/md/dm-remap.c:80 [inline]`.
 */

export interface Frame {
  /** Function name as printed, e.g. `dmbc_map.isra.0`. */
  symbol: string;
  /** The C function: the symbol without gcc's `.isra.0`, `.cold`, `.constprop.0` suffixes. */
  function: string;
  offset: number;
  size: number;
  module?: string;
  /** False for ` ? fn+0x..` frames, which the unwinder only guessed. */
  reliable: boolean;
  /** The faulting instruction (RIP/pc line): its address is exact, not a return address. */
  pc?: boolean;
  /** Printed between `<IRQ>`/`<NMI>` and their end: the interrupt that reported, not the interrupted code. */
  interrupt?: boolean;
  /** A symbolizer's inlined frame (no address of its own). */
  inlined?: boolean;
  /** Source place, when the log or addr2line gave it. */
  file?: string;
  line?: number;
  /** addr2line: the functions inlined at this address, innermost first (file/line above is the line in `function` itself). */
  inlinedCalls?: { function: string; file: string; line: number }[];
}

const ADDRESSES = String.raw`(?:\[<?[0-9a-f]+>?\]\s*){0,2}`;
const FRAME = new RegExp(
  String.raw`^\s*${ADDRESSES}\s*(\? )?(?:\d+:)?([A-Za-z_][\w.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?: \[([\w-]+)\])?(?: ([\w./-]+\.[chS]):(\d+))?`,
);
// arm: `[<80c1e5e8>] (__schedule) from [<80c1eb20>] (schedule+0x60/0xdc)`: the first is the frame
const ARM_FROM = /^\s*\[<[0-9a-f]+>\] \(([A-Za-z_][\w.$]*)(?:\+0x([0-9a-f]+)\/0x([0-9a-f]+))?(?: \[([\w-]+)\])?\) from /;
const INLINED = /^\s*([A-Za-z_][\w.$]*) ([\w./-]+\.[chS]):(\d+) \[inline\]/;
const PC_LINE = /^(?:R?IP: (?:[0-9a-f]{4}:)?|pc : |PC is at |NIP \[[0-9a-f]+\] |EIP: (?:[0-9a-f]{4}:)?|--- interrupt: [0-9a-f]+ at )(.*)$/;

/** ` ? dmbc_map.isra.0+0x45/0x90 [dmbc]` -> frame; anything else -> undefined. */
export function parseFrame(text: string): Frame | undefined {
  const arm = text.includes(') from [<') ? ARM_FROM.exec(text) : null;
  if (arm) {
    const frame: Frame = { symbol: arm[1], function: baseName(arm[1]), offset: arm[2] ? parseInt(arm[2], 16) : 0, size: arm[3] ? parseInt(arm[3], 16) : 0, reliable: true };
    if (arm[4]) frame.module = arm[4];
    return frame;
  }
  const m = FRAME.exec(text);
  if (!m) {
    const inl = INLINED.exec(text);
    if (!inl) return undefined;
    return { symbol: inl[1], function: baseName(inl[1]), offset: 0, size: 0, reliable: true, inlined: true, file: inl[2], line: Number(inl[3]) };
  }
  // powerpc marks a guess at the end of the line instead of with ` ? `
  const frame: Frame = { symbol: m[2], function: baseName(m[2]), offset: parseInt(m[3], 16), size: parseInt(m[4], 16), reliable: !m[1] && !text.endsWith('(unreliable)') };
  if (m[5]) frame.module = m[5];
  if (m[6]) {
    frame.file = m[6];
    frame.line = Number(m[7]);
  }
  return frame;
}

/** `RIP: 0010:__memset+0x24/0x30` -> the faulting frame; other lines -> undefined. */
export function parsePcLine(text: string): Frame | undefined {
  const m = PC_LINE.exec(text);
  if (!m) return undefined;
  const frame = parseFrame(m[1]);
  if (frame) frame.pc = true;
  return frame;
}

/** `remap_map.isra.0` -> `remap_map`; `__x64_sys_ioctl` stays. */
export function baseName(symbol: string): string {
  const dot = symbol.indexOf('.');
  return dot > 0 ? symbol.slice(0, dot) : symbol;
}

/** The innermost frame in an instrumented function, preferring frames the unwinder was sure of. */
export function topInstrumentedFrame(frames: readonly Frame[], instrumented: ReadonlySet<string>): Frame | undefined {
  const ours = frames.filter((frame) => instrumented.has(frame.function));
  return ours.find((frame) => frame.reliable) ?? ours[0];
}

/** `remap_map+0x45/0x90 [dm_remap]`, as the kernel printed it. */
export function frameText(frame: Frame): string {
  if (frame.inlined) return `${frame.symbol} [inline]`;
  return `${frame.symbol}+0x${frame.offset.toString(16)}/0x${frame.size.toString(16)}${frame.module ? ` [${frame.module}]` : ''}`;
}
