/**
 * Frames to source lines, the pure part (the edge runs objdump and addr2line). A module's `.ko` is a
 * relocatable object: its symbols' addresses are offsets into their own section, so each frame's address
 * is its symbol's value plus the printed offset, looked up in that section (`addr2line -j`). A caller
 * frame's offset is a return address, the instruction after the call: minus one lands on the call itself,
 * as the kernel's scripts/faddr2line and decode_stacktrace.sh do; the RIP/pc frame's is exact.
 */
import type { Frame } from './frame.js';

export interface KoSymbol {
  section: string;
  value: number;
}

/** `objdump -t` lines: `0000000000000120 l     F .text	0000000000000030 remap_map` -> remap_map. */
export function parseSymbolTable(text: string): Map<string, KoSymbol> {
  const symbols = new Map<string, KoSymbol>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) .{6}F (\S+)\s+[0-9a-f]+ (\S+)$/.exec(line);
    if (m && !symbols.has(m[3])) symbols.set(m[3], { section: m[2], value: parseInt(m[1], 16) });
  }
  return symbols;
}

/** The address addr2line is asked about for `frame`, in its symbol's section; undefined when unknown. */
export function frameAddress(frame: Frame, symbols: ReadonlyMap<string, KoSymbol>): { section: string; address: number } | undefined {
  const symbol = symbols.get(frame.symbol);
  if (!symbol || frame.inlined) return undefined;
  const back = frame.pc || frame.offset === 0 ? 0 : 1;
  return { section: symbol.section, address: symbol.value + frame.offset - back };
}

export interface SourcePlace {
  function: string;
  file: string;
  line: number;
}

/**
 * `addr2line -a -f -i` output: per address a `0x...` line, then (function, file:line) pairs, innermost
 * inlined function first and the symbol's own function last. `??` places are dropped (no debug info).
 */
export function parseAddr2line(text: string): SourcePlace[][] {
  const chains: SourcePlace[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^0x[0-9a-f]+$/.test(lines[i])) {
      chains.push([]);
      continue;
    }
    if (chains.length === 0 || i + 1 >= lines.length) continue;
    const place = /^(.*?):(\d+)(?: \(discriminator \d+\))?$/.exec(lines[i + 1]);
    if (place && !/^0x/.test(lines[i])) {
      if (place[1] !== '??' && lines[i] !== '??') chains[chains.length - 1].push({ function: lines[i], file: place[1], line: Number(place[2]) });
      i++;
    }
  }
  return chains;
}

/** Puts a chain on its frame: the line in the frame's own function, the inlined calls innermost first. */
export function placeFrame(frame: Frame, chain: readonly SourcePlace[]): void {
  if (chain.length === 0) return;
  const own = chain[chain.length - 1];
  frame.file = own.file;
  frame.line = own.line;
  if (chain.length > 1) frame.inlinedCalls = chain.slice(0, -1).map((p) => ({ ...p }));
}
