/**
 * The lock and wait calls of a breadcrumb's statement, as instrument recorded them in the manifest, with
 * their family from the shared vocabulary (vocabulary/sync.ts): what waits.ts reasons over.
 */
import type { ManifestCrumb } from '../manifest/schema.js';
import { syncCall } from '../vocabulary/sync.js';
import type { SyncOp } from './waits.js';

const cache = new WeakMap<ManifestCrumb, SyncOp[]>();

export function syncOpsOf(crumb: ManifestCrumb): readonly SyncOp[] {
  let ops = cache.get(crumb);
  if (!ops) {
    // a driver's lock wrapper has no family: a lock, but not one a task sleeps on by the table
    ops = (crumb.sync ?? []).map((op) => ({ call: op.call, operation: op.operation, family: syncCall(op.call)?.family ?? 'wrapper', object: op.object }));
    cache.set(crumb, ops);
  }
  return ops;
}
