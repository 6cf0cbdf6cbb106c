import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kcrumb in-process in `cwd`, capturing what it prints (no colour, as in a pipe); `stdin` is what it reads for `-`. */
export async function runCli(args: string[], cwd: string, stdin?: Buffer): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const output: Output = {
    out: (text) => (stdout += text.endsWith('\n') ? text : text + '\n'),
    err: (text) => (stderr += text.endsWith('\n') ? text : text + '\n'),
    status: () => {},
    color: false,
    interactive: false,
  };
  const code = await main(args, output, cwd, stdin ? Readable.from([stdin]) : process.stdin);
  return { code, stdout, stderr };
}
