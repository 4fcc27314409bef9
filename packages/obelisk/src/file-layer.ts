/**
 * The one narrow interface through which an Obelisk counter touches files.
 * `nodeFileLayer` implements it on real files; `SimulatedDisk` implements it in
 * memory with power cuts and injected faults, so tests can prove crash safety.
 */

/** An open, read-write file. */
export interface FileLayerHandle {
  /** Current size in bytes (`fstat`). */
  size(): Promise<number>;
  /** Set the size (`ftruncate`). Callers never have two in flight on one file. */
  truncate(size: number): Promise<void>;
  /** Make the size durable (`fdatasync`). */
  datasync(): Promise<void>;
  /**
   * Take an exclusive lock that the kernel drops when the process dies
   * (Linux OFD lock). Resolves false, without waiting, if someone else holds it.
   */
  tryLock(): Promise<boolean>;
  /** Close the file; drops the lock. */
  close(): Promise<void>;
}

export interface FileLayer {
  /** Open `path` read-write; with `create`, create it if missing (`O_CREAT`). */
  open(path: string, create: boolean): Promise<FileLayerHandle>;
  /** Names in directory `dir`. */
  readdir(dir: string): Promise<string[]>;
  /** Remove the directory entry `path`. */
  unlink(path: string): Promise<void>;
  /** Make directory `dir`'s entries (creations, removals) durable (`fsync` on the directory). */
  syncDir(dir: string): Promise<void>;
  /**
   * Optional: a view of this layer for one process lifetime. A counter takes it
   * once when it opens and uses only it. `SimulatedDisk` returns a view whose
   * operations all fail after a simulated crash, so a "dead" counter cannot act
   * on the disk after its power cut. Real layers omit it.
   */
  forProcess?(): FileLayer;
}

/** Operation names, used by `SimulatedDisk` for fault injection and counting. */
export type FileOp = 'open' | 'size' | 'truncate' | 'datasync' | 'lock' | 'close' | 'readdir' | 'unlink' | 'syncDir';
