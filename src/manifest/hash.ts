import { createHash } from 'node:crypto';

/** The hash a manifest records for a file: sha256 of its bytes (text decoded as latin1), in hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'latin1').digest('hex');
}
