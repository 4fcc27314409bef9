import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { tryLock } from 'fs-native-extensions';
import { errnoCode, type FileHandle, type FileStat, type FileSystem, type OpenOptions } from './file-system.js';

const { constants } = fs;

/** Run a callback-style fs call on libuv's thread pool as a promise. */
function pool<T>(fn: (cb: (err: NodeJS.ErrnoException | null, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));
}

function openFlags(options: OpenOptions): number {
  let flags = constants.O_RDWR;
  if (options.create) flags |= constants.O_CREAT;
  if (options.truncate) flags |= constants.O_TRUNC;
  return flags;
}

/**
 * Real files. Calls go to libuv's thread pool (never blocking the event loop)
 * through the callback API on raw file descriptors: fs/promises' FileHandle
 * objects cost about 1.6× the main-thread CPU per call (measured: 1024 shards'
 * open + read + stat + close, 175 ms vs 107 ms).
 *
 * Locks are OFD locks from fs-native-extensions: exclusive per open file
 * description, so a second handle in the same process is refused too, and the
 * kernel releases them when the owning process dies (lockfile schemes stay
 * "locked" after SIGKILL).
 */
export const nodeFileSystem: FileSystem = {
  async open(path: string, options: OpenOptions = {}) {
    const fd = await pool<number>((cb) => fs.open(path, openFlags(options), 0o644, cb));
    return new NodeFileHandle(path, fd, false);
  },
  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await pool<fs.Stats>((cb) => fs.stat(path, cb));
      return { size: s.size, isDirectory: s.isDirectory() };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  },
  readdir: (dir: string) => pool<string[]>((cb) => fs.readdir(dir, cb)),
  async mkdir(dir: string) {
    try {
      await pool<void>((cb) => fs.mkdir(dir, (err) => cb(err, undefined)));
      return true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      if ((await pool<fs.Stats>((cb) => fs.stat(dir, cb))).isDirectory()) return false;
      throw err;
    }
  },
  rename: (from: string, to: string) => pool<void>((cb) => fs.rename(from, to, cb)),
  unlink: (path: string) => pool<void>((cb) => fs.unlink(path, cb)),
  async syncDir(dir: string) {
    const fd = await pool<number>((cb) => fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY, cb));
    try {
      await pool<void>((cb) => fs.fsync(fd, cb));
    } finally {
      await pool<void>((cb) => fs.close(fd, cb));
    }
  },
  syncAll,
  blocking: () => blockingNodeFileSystem,
};

/**
 * `syncfs(2)` through coreutils' `sync -f` (Node has no binding for it; one
 * child process costs a few ms, far less than the thousand fsyncs it
 * replaces). Since Linux 5.8 syncfs reports write-back errors, and `sync`
 * exits non-zero on them. Without a `sync` binary (a minimal image) it
 * resolves false and the caller syncs file by file.
 */
function syncAll(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], { timeout: SYNC_ALL_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err === null) return resolve(true);
      if (errnoCode(err) === 'ENOENT') return resolve(false);
      const why = stderr.trim() || err.message;
      reject(Object.assign(new Error(`syncfs of the file system holding ${path} failed: ${why}`), { code: 'EIO', cause: err }));
    });
  });
}
/** A syncfs that takes this long is a disk in trouble: fail loudly rather than hang a start. */
const SYNC_ALL_TIMEOUT_MS = 120_000;

/**
 * The same files with as many calls as is safe made as plain blocking
 * syscalls on the event loop. For a process's start, when the event loop
 * serves nothing else: a cached `open`/`stat`/`pread` costs ~5 µs, a
 * thread-pool round trip ~35–60 µs of main-thread CPU, which was most of a
 * 1024-shard start.
 *
 * Calls that only read (`open` without create, `stat`, `readdir`, `pread`,
 * `fstat`, `close`) always block. Calls that change the file system (create,
 * mkdir, rename, unlink, write, truncate) block only while no sync of this
 * view is in flight: beside running fsyncs they wait for the file system's
 * journal to commit (measured: 1024 creates made on the event loop beside
 * per-shard fsyncs took 4 s), so then they go to the pool. Syncs always run
 * on the pool. Handles opened here keep this behaviour for their life (a
 * started shard reads nothing more; closing an fd does not wait for the disk).
 */
const quiet = { syncs: 0 };
const noSyncRunning = (): boolean => quiet.syncs === 0;
async function counted<T>(sync: Promise<T>): Promise<T> {
  quiet.syncs++;
  try {
    return await sync;
  } finally {
    quiet.syncs--;
  }
}

const blockingNodeFileSystem: FileSystem = {
  async open(path: string, options: OpenOptions = {}) {
    if ((options.create || options.truncate) && !noSyncRunning()) {
      const fd = await pool<number>((cb) => fs.open(path, openFlags(options), 0o644, cb));
      return new NodeFileHandle(path, fd, true);
    }
    return new NodeFileHandle(path, fs.openSync(path, openFlags(options), 0o644), true);
  },
  async stat(path: string): Promise<FileStat | undefined> {
    const s = fs.statSync(path, { throwIfNoEntry: false });
    return s === undefined ? undefined : { size: s.size, isDirectory: s.isDirectory() };
  },
  readdir: async (dir: string) => fs.readdirSync(dir),
  async mkdir(dir: string) {
    if (!noSyncRunning()) return nodeFileSystem.mkdir(dir);
    try {
      fs.mkdirSync(dir);
      return true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      if (fs.statSync(dir).isDirectory()) return false;
      throw err;
    }
  },
  rename: async (from: string, to: string) => (noSyncRunning() ? fs.renameSync(from, to) : nodeFileSystem.rename(from, to)),
  unlink: async (path: string) => (noSyncRunning() ? fs.unlinkSync(path) : nodeFileSystem.unlink(path)),
  async syncDir(dir: string) {
    const fd = fs.openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await counted(pool<void>((cb) => fs.fsync(fd, cb)));
    } finally {
      fs.closeSync(fd);
    }
  },
  syncAll: (path: string) => counted(syncAll(path)),
  blocking: () => blockingNodeFileSystem,
};

/**
 * A raw fd. Its number is reused by the next open once closed, so a call that
 * is still queued on the thread pool must not find it closed (an fdatasync
 * would sync another file and resolve): `close` waits for every call in flight.
 */
class NodeFileHandle implements FileHandle {
  private closed = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly blocking: boolean,
  ) {}

  async size(): Promise<number> {
    this.check();
    return (this.blocking ? fs.fstatSync(this.fd) : await this.pool<fs.Stats>((cb) => fs.fstat(this.fd, cb))).size;
  }

  async read(buf: Uint8Array, length: number, position: number): Promise<number> {
    this.check();
    if (this.blocking) return fs.readSync(this.fd, buf, 0, length, position);
    return this.pool<number>((cb) => fs.read(this.fd, buf, 0, length, position, cb));
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.check();
    if (this.blocking && noSyncRunning()) {
      for (let off = 0; off < data.length; ) {
        const n = fs.writeSync(this.fd, data, off, data.length - off, position + off);
        if (n <= 0) throw Object.assign(new Error(`write to ${this.path} made no progress`), { code: 'EIO' });
        off += n;
      }
      return;
    }
    // One call in flight for the whole loop, so a close waits for all of it.
    await this.track(async () => {
      let off = 0;
      while (off < data.length) {
        const n = await pool<number>((cb) => fs.write(this.fd, data, off, data.length - off, position + off, cb));
        if (n <= 0) throw Object.assign(new Error(`write to ${this.path} made no progress`), { code: 'EIO' });
        off += n;
      }
    });
  }

  async truncate(size: number): Promise<void> {
    this.check();
    if (this.blocking && noSyncRunning()) return fs.ftruncateSync(this.fd, size);
    return this.pool<void>((cb) => fs.ftruncate(this.fd, size, cb));
  }

  async datasync(): Promise<void> {
    this.check();
    const sync = this.pool<void>((cb) => fs.fdatasync(this.fd, cb));
    return this.blocking ? counted(sync) : sync;
  }

  async tryLock(): Promise<boolean> {
    this.check();
    return tryLock(this.fd);
  }

  async close(): Promise<void> {
    this.check();
    // Marked first: a raw fd number is reused by the next open, so a second
    // close must never reach the kernel.
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.blocking) fs.closeSync(this.fd);
    else await pool<void>((cb) => fs.close(this.fd, cb));
  }

  private pool<T>(fn: (cb: (err: NodeJS.ErrnoException | null, result: T) => void) => void): Promise<T> {
    return this.track(() => pool(fn));
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await run();
    } finally {
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }

  /** A raw fd is reused once closed: using this handle after close must fail, not touch another file. */
  private check(): void {
    if (this.closed) throw Object.assign(new Error(`${this.path}: file handle is closed`), { code: 'EBADF' });
  }
}
