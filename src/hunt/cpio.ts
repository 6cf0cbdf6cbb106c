/**
 * A newc cpio archive (the initramfs format) built in memory: device nodes and modes need no root,
 * and no cpio binary is involved. Format: Documentation/driver-api/early-userspace/buffer-format.rst.
 */

export type CpioEntry =
  | { name: string; type: 'dir'; mode?: number }
  | { name: string; type: 'file'; data: Buffer; mode?: number }
  | { name: string; type: 'symlink'; target: string }
  | { name: string; type: 'char'; major: number; minor: number; mode?: number };

const TYPE_BITS = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000 } as const;

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(fields: number[]): string {
  return '070701' + fields.map((n) => n.toString(16).padStart(8, '0')).join('');
}

/** The archive bytes; entries are written in the order given (parents before children). */
export function cpioArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const add = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const nameBytes = Buffer.from(name + '\0');
    const nlink = (mode & 0o170000) === TYPE_BITS.dir ? 2 : 1;
    const head = Buffer.from(header([ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0]));
    parts.push(head, nameBytes, pad4(head.length + nameBytes.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.name.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        add(name, TYPE_BITS.dir | (e.mode ?? 0o755), Buffer.alloc(0));
        break;
      case 'file':
        add(name, TYPE_BITS.file | (e.mode ?? 0o644), e.data);
        break;
      case 'symlink':
        add(name, TYPE_BITS.symlink | 0o777, Buffer.from(e.target));
        break;
      case 'char':
        add(name, TYPE_BITS.char | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]);
        break;
    }
  }
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
