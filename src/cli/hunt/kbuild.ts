/** `make -C KDIR M=DIR modules`: an out-of-tree module built with the kernel's own kbuild. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KcrumbError } from '../../errors.js';
import { runLogged } from './process.js';

export interface BuildOptions {
  /** Add KCFLAGS=-Werror (the tests: breadcrumbs must add no warning). */
  werror?: boolean;
  /** More make arguments: KBUILD_EXTRA_SYMBOLS=<kcrumb_ring's Module.symvers> for --sink ring. */
  makeArgs?: string[];
  signal?: AbortSignal;
}

/**
 * Builds the folder's Kbuild/Makefile against `kdir`; the log goes to `log`. Returns the .ko files
 * the build made (modules.order, else every .ko in the folder); throws with the log's tail on failure.
 */
export async function buildModules(dir: string, kdir: string, log: string, options: BuildOptions = {}): Promise<string[]> {
  writeFileSync(log, '');
  const args = ['-C', kdir, `M=${resolve(dir)}`, ...(options.werror ? ['KCFLAGS=-Werror'] : []), ...(options.makeArgs ?? []), 'modules'];
  const code = await runLogged('make', args, { log, env: { LANG: 'C', LC_ALL: 'C' }, signal: options.signal });
  const kos = builtModules(dir);
  if (code !== 0 || kos.length === 0) {
    if (options.signal?.aborted) throw new KcrumbError('input', 'interrupted during the module build');
    const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
    throw new KcrumbError('input', `module build in ${dir} failed (make exit ${code}, ${kos.length} .ko); its log: ${log}`, tail.trim() || undefined);
  }
  return kos;
}

function builtModules(dir: string): string[] {
  const order = join(dir, 'modules.order');
  if (existsSync(order)) {
    const listed = readFileSync(order, 'utf8')
      .split('\n')
      .map((line) => line.trim().replace(/^kernel\//, '').replace(/\.o$/, '.ko'))
      .filter(Boolean)
      .map((name) => resolve(dir, name));
    if (listed.length > 0 && listed.every((path) => existsSync(path))) return listed;
  }
  return readdirSync(dir).filter((f) => f.endsWith('.ko')).map((f) => join(dir, f));
}
