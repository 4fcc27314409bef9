import { constants } from 'node:fs';
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { tryLock } from 'fs-native-extensions';
import type { FileLayer, FileLayerHandle } from './file-layer.js';

/**
 * Real files through Node's async `fs/promises` (syncs run on libuv's thread
 * pool, never on the event loop). The lock is an OFD lock from
 * fs-native-extensions: the kernel releases it when the owning process dies,
 * unlike lockfile schemes that stay "locked" after SIGKILL.
 */
export const nodeFileLayer: FileLayer = {
  async open(path, create) {
    const flags = constants.O_RDWR | (create ? constants.O_CREAT : 0);
    return new NodeHandle(await open(path, flags, 0o644));
  },
  readdir: (dir) => readdir(dir),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    const h = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};

class NodeHandle implements FileLayerHandle {
  constructor(private readonly h: FileHandle) {}
  async size(): Promise<number> {
    return (await this.h.stat()).size;
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
