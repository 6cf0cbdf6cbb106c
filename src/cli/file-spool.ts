import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { TextSpool } from '../manifest/build.js';
import { InternalError } from '../errors.js';

const CHUNK = 1 << 20;

/**
 * A TextSpool in a temporary file: a whole tree's function list (hundreds of thousands of entries) waits
 * on disk until the manifest's breadcrumbs are written, and is read back in 1 MiB pieces. `dispose` removes it.
 */
export class FileSpool implements TextSpool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'kcrumb-spool-'));
  private readonly fd = openSync(join(this.dir, 'functions.json'), 'w+');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private size = 0;

  write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= CHUNK) this.flush();
  }

  replay(emit: (text: string) => void): void {
    this.flush();
    // A piece may end inside a UTF-8 sequence (a non-ASCII path): the decoder holds it for the next.
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let at = 0; at < this.size; ) {
      const n = readSync(this.fd, buffer, 0, CHUNK, at);
      if (n === 0) throw new InternalError('the function list spool is shorter than written');
      emit(decoder.write(buffer.subarray(0, n)));
      at += n;
    }
    const rest = decoder.end();
    if (rest) emit(rest);
  }

  dispose(): void {
    closeSync(this.fd);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off, this.size + off);
    this.size += bytes.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
