/**
 * The narrow file layer the journal uses. Everything the journal does to disk
 * goes through here, so tests can substitute `SimulatedJournalFs`, which loses
 * unsynced state on a simulated power cut and injects I/O errors.
 */
import { constants, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';

/** An open file. Positions are explicit (pwrite/pread); there is no file cursor. */
export interface JournalFile {
  /** Write all of `data` at `position` (loops over short writes). Not durable until `datasync`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Read up to `length` bytes at `position` into `buf` from offset 0; returns the count read (0 at EOF). */
  read(buf: Uint8Array, length: number, position: number): Promise<number>;
  /** Current size in bytes (fstat). */
  size(): Promise<number>;
  /** ftruncate. Not durable until `datasync`. */
  truncate(size: number): Promise<void>;
  /** fdatasync: data and size written so far survive a power cut once this resolves. */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** An exclusive lock held for the life of the process (released by the kernel on death). */
export interface JournalLock {
  release(): Promise<void>;
}

export interface JournalFs {
  /** mkdir -p. */
  mkdirp(dir: string): Promise<void>;
  /**
   * Open `path` read-write. `create: true` creates it if missing (the new name
   * is durable only after `fsyncDir`); `truncate: true` empties it.
   */
  open(path: string, opts: { create: boolean; truncate?: boolean }): Promise<JournalFile>;
  /** Size of `path`, or `undefined` if it does not exist. */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** Atomic rename (replaces `to`); durable only after `fsyncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Remove `path`; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** fsync the directory, making creates/renames/unlinks in it durable. */
  fsyncDir(dir: string): Promise<void>;
  /** Take an exclusive lock on `path` (created if missing); `undefined` if someone else holds it. */
  lock(path: string): Promise<JournalLock | undefined>;
}

class NodeJournalFile implements JournalFile {
  constructor(private readonly fh: fsp.FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off, position + off);
      if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      off += bytesWritten;
    }
  }

  async read(buf: Uint8Array, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.fh.read(buf, 0, length, position);
    return bytesRead;
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

// fs-native-extensions ships no type declarations; this is the one function we use.
const require = createRequire(import.meta.url);
let tryLockFn: ((fd: number) => boolean) | undefined;
function tryLock(fd: number): boolean {
  tryLockFn ??= (require('fs-native-extensions') as { tryLock(fd: number): boolean }).tryLock;
  return tryLockFn(fd);
}

/** The real file system (Linux semantics: fdatasync, directory fsync, OFD locks). */
export const nodeJournalFs: JournalFs = {
  async mkdirp(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  async open(path, opts) {
    let flags = constants.O_RDWR;
    if (opts.create) flags |= constants.O_CREAT;
    if (opts.truncate) flags |= constants.O_TRUNC;
    return new NodeJournalFile(await fsp.open(path, flags, 0o644));
  },
  async stat(path) {
    try {
      return { size: (await fsp.stat(path)).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  async fsyncDir(dir) {
    const fh = await fsp.open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async lock(path) {
    const fh = await fsp.open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    let locked = false;
    try {
      locked = tryLock(fh.fd);
    } finally {
      if (!locked) await fh.close();
    }
    // Closing the descriptor releases the OFD lock; so does process death.
    return locked ? { release: () => fh.close() } : undefined;
  },
};
