import type { Manifest, ManifestDeferred } from './schema.js';

/**
 * Version 2 recorded no deferred-work bindings, only the edges select followed, as text in the functions'
 * reasons (`.end_io = remap_end_io -> queue_work(sync_work) -> remap_sync_work`). Read once from there so
 * an older manifest still ties a flush to its handler as it did; version 3 records them from the tree.
 */
export function deferredFromReasons(manifest: Pick<Manifest, 'functions'>): ManifestDeferred[] {
  const found = new Map<string, ManifestDeferred>();
  for (const fn of manifest.functions) {
    for (const [, call, member, handler] of fn.reason.matchAll(/(\w+)\((\w+)\) -> (\w+)/g)) {
      // version 2 told a thread from a work item by the call's name alone
      const binding: ManifestDeferred = { call, runs: call.startsWith('kthread') ? 'thread' : 'work', member, handler, file: fn.file, line: fn.line };
      found.set(`${call}:${member}:${handler}`, binding);
    }
  }
  return [...found.values()];
}
