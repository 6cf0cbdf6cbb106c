/**
 * The spool that holds a whole tree's function list on disk (cli/file-spool.ts) gives back exactly what it
 * was given, across its 1 MiB pieces, with multi-byte UTF-8 split at a piece boundary.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { FileSpool } from '../../src/cli/file-spool.js';

it('replays what was written, in order, across piece boundaries and split UTF-8', () => {
  const spool = new FileSpool();
  const written: string[] = [];
  // 'é' is two bytes: with an odd-length prefix some piece boundary falls inside one.
  for (let i = 0; i < 40000; i++) {
    const text = `${i % 7 === 0 ? 'x' : ''},\n  {"name":"fn_${i}","path":"drivers/café/é${i}.c"}`;
    spool.write(text);
    written.push(text);
  }
  const replayed: string[] = [];
  spool.replay((text) => replayed.push(text));
  assert.ok(replayed.length > 1, 'read back in more than one piece');
  assert.equal(replayed.join(''), written.join(''));
  spool.dispose();
});

it('an empty spool replays nothing; dispose removes its file', () => {
  const spool = new FileSpool();
  const dir = (spool as unknown as { dir: string }).dir;
  const replayed: string[] = [];
  spool.replay((text) => replayed.push(text));
  assert.deepEqual(replayed, []);
  spool.dispose();
  assert.equal(existsSync(dir), false);
});
