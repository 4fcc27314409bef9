import { constants, promises as fsp } from 'node:fs';
import { tryLock } from 'fs-native-extensions';
import { errnoCode, type FileHandle, type FileStat, type FileSystem, type OpenOptions } from './file-system.js';

/**
 * Real files through Node's async `fs/promises` (syncs run on libuv's thread
 * pool, never on the event loop). Locks are OFD locks from
 * fs-native-extensions: exclusive per open file description, so a second
 * handle in the same process is refused too, and the kernel releases them
 * when the owning process dies (lockfile schemes stay "locked" after SIGKILL).
 */
export const nodeFileSystem: FileSystem = {
  async open(path: string, options: OpenOptions = {}) {
    let flags = constants.O_RDWR;
    if (options.create) flags |= constants.O_CREAT;
    if (options.truncate) flags |= constants.O_TRUNC;
    return new NodeFileHandle(path, await fsp.open(path, flags, 0o644));
  },
  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await fsp.stat(path);
      return { size: s.size, isDirectory: s.isDirectory() };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  },
  readdir: (dir: string) => fsp.readdir(dir),
  async mkdir(dir: string) {
    try {
      await fsp.mkdir(dir);
      return true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      if ((await fsp.stat(dir)).isDirectory()) return false;
      throw err;
    }
  },
  rename: (from: string, to: string) => fsp.rename(from, to),
  unlink: (path: string) => fsp.unlink(path),
  async syncDir(dir: string) {
    const h = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};

class NodeFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly h: fsp.FileHandle,
  ) {}

  async size(): Promise<number> {
    return (await this.h.stat()).size;
  }

  async read(buf: Uint8Array, length: number, position: number): Promise<number> {
    return (await this.h.read(buf, 0, length, position)).bytesRead;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.h.write(data, off, data.length - off, position + off);
      if (bytesWritten <= 0) throw Object.assign(new Error(`write to ${this.path} made no progress`), { code: 'EIO' });
      off += bytesWritten;
    }
  }

  truncate(size: number): Promise<void> {
    return this.h.truncate(size);
  }

  datasync(): Promise<void> {
    return this.h.datasync();
  }

  async tryLock(): Promise<boolean> {
    return tryLock(this.h.fd);
  }

  close(): Promise<void> {
    return this.h.close();
  }
}
