/**
 * The one narrow interface through which Pharaoh touches files. Obelisk
 * counters, journals and shard directories all go through it, so one crash
 * simulator (`@pharaoh/storage/testing`) can stand in for the disk in every
 * crash test.
 *
 * Durability contract (what each fault model keeps is in `docs/DESIGN.md`,
 * "What crash-safe is tested against"):
 * - bytes and sizes set by `write`/`truncate` are durable once a later
 *   `datasync` on the same file resolves;
 * - a directory entry created, renamed or removed by `open(create)`, `mkdir`,
 *   `rename` or `unlink` is durable once a later `syncDir` of its directory
 *   resolves (a new directory also needs its parent synced);
 * - everything written or created on the file system holding a path is
 *   durable once a later `syncAll` of that path resolves true;
 * - a lock (`tryLock`) lasts until the handle is closed or the process dies.
 */

/** Every operation, by name: for fault injection, gates and counting. */
export type FileOp =
  | 'open'
  | 'stat'
  | 'readdir'
  | 'mkdir'
  | 'rename'
  | 'unlink'
  | 'syncDir'
  | 'syncAll'
  | 'size'
  | 'read'
  | 'write'
  | 'truncate'
  | 'datasync'
  | 'lock'
  | 'close';

export const FILE_OPS: readonly FileOp[] = [
  'open', 'stat', 'readdir', 'mkdir', 'rename', 'unlink', 'syncDir', 'syncAll', 'size', 'read', 'write', 'truncate', 'datasync', 'lock', 'close',
];

/** An open, read-write file. Positions are explicit (pread/pwrite): there is no cursor. */
export interface FileHandle {
  readonly path: string;
  /** Current size in bytes (`fstat`). */
  size(): Promise<number>;
  /** Read up to `length` bytes at `position` into `buf` from offset 0; the count read (0 at end of file). */
  read(buf: Uint8Array, length: number, position: number): Promise<number>;
  /** Write all of `data` at `position` (loops over short writes). Durable after `datasync`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Set the size (`ftruncate`); a grown file reads zeros (sparse). Durable after `datasync`. */
  truncate(size: number): Promise<void>;
  /** `fdatasync`: the bytes and size written so far survive a power cut once this resolves. */
  datasync(): Promise<void>;
  /**
   * Take an exclusive lock the kernel drops when the process dies (Linux OFD
   * lock). Resolves false, without waiting, if another handle holds it (also
   * one of this process).
   */
  tryLock(): Promise<boolean>;
  /** Close the file; drops its lock. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Create the file if missing (`O_CREAT`); the new entry is durable after `syncDir` of its directory. */
  create?: boolean;
  /** Empty the file (`O_TRUNC`). */
  truncate?: boolean;
}

export interface FileStat {
  size: number;
  isDirectory: boolean;
}

export interface FileSystem {
  /** Open `path` read-write. Rejects ENOENT (missing, without `create`), EISDIR (a directory). */
  open(path: string, options?: OpenOptions): Promise<FileHandle>;
  /** Size and kind of `path`, or undefined if it does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Names in directory `dir` (unsorted). */
  readdir(dir: string): Promise<string[]>;
  /**
   * Create directory `dir` (one level; its parent must exist). Resolves true if
   * it was created, false if a directory was already there; rejects EEXIST if
   * a file is there. The new entry is durable after `syncDir` of the parent.
   */
  mkdir(dir: string): Promise<boolean>;
  /** Atomically rename `from` to `to` (replacing `to`), within one directory. Durable after `syncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Remove the file `path`; rejects ENOENT if missing. Durable after `syncDir`. */
  unlink(path: string): Promise<void>;
  /** `fsync` the directory: its entries (creates, renames, removals, new subdirectories) become durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Optional: `syncfs` — make every byte, size and directory entry written so
   * far on the file system holding `path` durable at once. One call instead
   * of one fdatasync per file and one fsync per directory, for work that
   * creates many small files together (a fresh 1024-shard start). It flushes
   * the whole file system, other writers' data too, so it is for batches, not
   * for one file. Resolves false, having done nothing, where it is not
   * available (the caller syncs file by file); rejects (EIO, ...) if the
   * file system reports a write-back error.
   */
  syncAll?(path: string): Promise<boolean>;
  /**
   * Optional: a view of this file system for one process lifetime. Durable
   * structures take it once when they open and use only it. The simulator
   * returns a view whose operations fail (EBADF) once that simulated process
   * has died, so a "dead" process cannot act on the disk the next one uses.
   * Real file systems omit it.
   */
  forProcess?(): FileSystem;
  /**
   * Optional: the same files, with the calls that only read (open without
   * create, stat, readdir, read, size, close) made as blocking syscalls
   * instead of thread-pool round trips, and the calls that change the file
   * system (create, mkdir, rename, unlink, write, truncate) too while no sync
   * of this view is in flight (beside one they may wait for the disk, so then
   * they go to the pool); syncs always run on the pool. For work during which
   * the event loop serves nothing else, such as a process's start, and for
   * Obelisk's ftruncate: about 10× less CPU per call. Handles it opens stay
   * that way. Simulated file systems omit it.
   */
  blocking?(): FileSystem;
}

/** The errno-style code of a system error (`'EIO'`, `'ENOENT'`, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** The view a durable structure should use: the process view when the layer has one. */
export function processView(fs: FileSystem): FileSystem {
  return fs.forProcess?.() ?? fs;
}
