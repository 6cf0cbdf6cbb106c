/** Another kcrumb command run in this process, its output kept (the hunt saves it with each round). */
import type { Output } from '../output.js';

export interface SubcommandResult {
  code: number;
  out: string;
  err: string;
}

export async function kcrumb(argv: string[], cwd: string, color = false): Promise<SubcommandResult> {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (t) => out.push(t), err: (t) => err.push(t), status: () => undefined, color, interactive: false };
  // main.ts loads this module's command lazily: importing it here at the top would be a cycle
  const { main } = await import('../main.js');
  const code = await main(argv, output, cwd);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
