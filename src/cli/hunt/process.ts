/** Child processes of a hunt: output to a log file, killed on a time limit or when the caller aborts. */
import { closeSync, openSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  /** stdout and stderr are appended here. */
  log: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs to the end; resolves the exit status, -1 when it was killed (time limit, abort, signal). */
export function runLogged(cmd: string, args: string[], options: RunOptions): Promise<number> {
  const fd = openSync(options.log, 'a');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } });
    const stop = killer(child, options);
    child.on('error', (error) => (stop(), closeSync(fd), reject(error)));
    child.on('close', (code, signal) => (stop(), closeSync(fd), resolvePromise(signal ? -1 : (code ?? 0))));
  });
}

/** Kills `child` on the time limit or the abort; returns the function that disarms both. */
export function killer(child: ChildProcess, options: { timeoutMs?: number; signal?: AbortSignal }, onTimeout?: () => void): () => void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => (onTimeout?.(), kill()), options.timeoutMs ?? 10 * 60_000);
  options.signal?.addEventListener('abort', kill, { once: true });
  if (options.signal?.aborted) kill();
  return () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
  };
}
