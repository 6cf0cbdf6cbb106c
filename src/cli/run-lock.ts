import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KcrumbError } from '../errors.js';
import { MANIFEST_DIR } from './manifest-store.js';

/** Held by every run that writes sources or manifests (instrument, strip, zoom), in `.kcrumb/` of its directory. */
const LOCK_FILE = 'run.lock';

/**
 * Runs `work` holding the run lock of `dir`: two runs at once could each instrument some of the same
 * files and each write a manifest claiming them all. The lock file holds the owner's pid; a lock whose
 * owner is gone (kill -9) is taken over.
 */
export async function withRunLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const path = join(dir, MANIFEST_DIR, LOCK_FILE);
  const created = mkdirSync(join(dir, MANIFEST_DIR), { recursive: true }) !== undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = ownerOf(path);
      if (owner !== undefined && isAlive(owner)) {
        throw new KcrumbError('usage', `another kcrumb run (pid ${owner}) is writing here: ${join(MANIFEST_DIR, LOCK_FILE)} is held`, 'wait for it to finish; if no kcrumb is running, remove that file');
      }
      unlinkSync(path); // its owner died
    }
  }
  try {
    return await work();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // removed by hand meanwhile
    }
    if (created) removeIfEmpty(join(dir, MANIFEST_DIR)); // strip of a tree without manifests leaves no trace
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // a manifest was written there
  }
}
