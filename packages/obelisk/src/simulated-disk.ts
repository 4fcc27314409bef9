import { posix } from 'node:path';
import type { FileLayer, FileLayerHandle, FileOp } from './file-layer.js';

/**
 * Small seeded PRNG (mulberry32): returns floats in [0, 1). Tests use it so
 * every random crash point and every reordering can be replayed from a seed.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Syscall-style aliases accepted wherever an operation is named. */
const ALIASES: Record<string, FileOp> = { ftruncate: 'truncate', fdatasync: 'datasync', fstat: 'size', fsyncDir: 'syncDir', flock: 'lock' };
export type FaultOp = FileOp | 'ftruncate' | 'fdatasync' | 'fstat' | 'fsyncDir' | 'flock';
const opName = (op: FaultOp): FileOp => ALIASES[op] ?? (op as FileOp);

export interface Fault {
  /** The operation to fail; 'ftruncate' = 'truncate', 'fdatasync' = 'datasync', 'fstat' = 'size', 'fsyncDir' = 'syncDir'. */
  op: FaultOp;
  /** errno-style code of the injected error: 'EIO', 'ENOSPC', 'EFBIG', ... */
  code: string;
  /** Let this many matching calls succeed first. Default 0. */
  after?: number;
  /** Fail this many matching calls. Default 1; `Infinity` for every later call. */
  times?: number;
  /** Only calls on this path (for directory ops: this directory). Default: any path. */
  path?: string;
}

export interface CrashOptions {
  /**
   * 'none' (default): every volatile size and directory entry is lost.
   * 'random': each volatile piece independently survives or not (the kernel may
   * have written it back before the power cut), chosen by the disk's PRNG.
   */
  keepVolatile?: 'none' | 'random';
}

export interface SimulatedDiskOptions {
  /** Seed of the PRNG that delays operations and picks what survives a crash. Default 1. */
  seed?: number;
  /** Like a real file system's limit: `truncate` beyond it fails with EFBIG. Default: none. */
  maxFileSize?: number;
  /**
   * Each operation completes after 0..maxDelay extra microtask hops chosen by the
   * PRNG, so concurrent operations finish out of order like on libuv's thread pool.
   * Default 3.
   */
  maxDelay?: number;
}

interface Inode {
  size: number;
  durableSize: number;
  lock: SimHandle | null;
  truncatesInFlight: number;
}

interface Dir {
  /** What `readdir`/`open` see now. */
  live: Map<string, Inode>;
  /** What survives a power cut: the state at the last `syncDir`. */
  durable: Map<string, Inode>;
}

class SimError extends Error {
  constructor(
    readonly code: string,
    readonly syscall: string,
    path: string,
  ) {
    super(`${code}: simulated ${syscall} failure, '${path}'`);
  }
}

/**
 * An in-memory `FileLayer` that models what a power cut keeps: per file a
 * durable size (set by `datasync`) and a volatile size; directory entries
 * (creations, removals) durable only after `syncDir`. `crash()` drops the
 * volatile parts, kills every open handle (later calls on it reject with EBADF)
 * and releases all locks; code then reopens through the same disk.
 * It also injects faults, holds operations at a gate, and counts calls.
 */
export class SimulatedDisk implements FileLayer {
  readonly rng: () => number;
  /** Calls per operation; `maxTruncatesInFlight` is the most `truncate`s ever in flight on one file. */
  readonly stats = { ops: emptyCounts(), maxTruncatesInFlight: 0, crashes: 0 };
  private readonly maxFileSize: number;
  private readonly maxDelay: number;
  private readonly dirs = new Map<string, Dir>();
  private readonly directories = new Set<string>();
  private handles = new Set<SimHandle>();
  private faults: Array<Required<Omit<Fault, 'path' | 'op'>> & { op: FileOp; path: string | undefined }> = [];
  private readonly gates = new Map<FileOp, Promise<void>>();
  private crashAfter: { ops: number; options: CrashOptions } | undefined;
  /** Number of crashes so far; a process view from an older epoch is dead. */
  private epoch = 0;

  constructor(options: SimulatedDiskOptions = {}) {
    this.rng = mulberry32(options.seed ?? 1);
    this.maxFileSize = options.maxFileSize ?? Infinity;
    this.maxDelay = options.maxDelay ?? 3;
  }

  // ---- FileLayer ----

  open(path: string, create: boolean): Promise<FileLayerHandle> {
    return this.openAs(undefined, path, create);
  }

  readdir(dir: string): Promise<string[]> {
    return this.run('readdir', dir, undefined, () => [...this.dir(dir).live.keys()]);
  }

  unlink(path: string): Promise<void> {
    return this.unlinkAs(undefined, path);
  }

  syncDir(dir: string): Promise<void> {
    return this.syncDirAs(undefined, dir);
  }

  /** A view for the current process lifetime: after the next crash every call through it fails (EBADF). */
  forProcess(): FileLayer {
    const epoch = this.epoch;
    return {
      open: (path, create) => this.openAs(epoch, path, create),
      readdir: (dir) => this.run('readdir', dir, undefined, () => [...this.dir(dir).live.keys()], epoch),
      unlink: (path) => this.unlinkAs(epoch, path),
      syncDir: (dir) => this.syncDirAs(epoch, dir),
    };
  }

  private openAs(epoch: number | undefined, path: string, create: boolean): Promise<FileLayerHandle> {
    return this.run(
      'open',
      path,
      undefined,
      () => {
        if (this.directories.has(path)) throw new SimError('EISDIR', 'open', path);
        const dir = this.dir(posix.dirname(path));
        const name = posix.basename(path);
        let inode = dir.live.get(name);
        if (inode === undefined) {
          if (!create) throw new SimError('ENOENT', 'open', path);
          inode = { size: 0, durableSize: 0, lock: null, truncatesInFlight: 0 };
          dir.live.set(name, inode);
        }
        const h = new SimHandle(this, inode, path);
        this.handles.add(h);
        return h;
      },
      epoch,
    );
  }

  private unlinkAs(epoch: number | undefined, path: string): Promise<void> {
    return this.run(
      'unlink',
      path,
      undefined,
      () => {
        const dir = this.dir(posix.dirname(path));
        if (!dir.live.delete(posix.basename(path))) throw new SimError('ENOENT', 'unlink', path);
      },
      epoch,
    );
  }

  private syncDirAs(epoch: number | undefined, dir: string): Promise<void> {
    return this.run(
      'syncDir',
      dir,
      undefined,
      () => {
        const d = this.dir(dir);
        d.durable = new Map(d.live);
      },
      epoch,
    );
  }

  // ---- simulation controls ----

  /** Power cut: drop volatile state, kill every handle, release every lock. */
  crash(options: CrashOptions = {}): void {
    const keep = options.keepVolatile === 'random' ? () => this.rng() < 0.5 : () => false;
    this.stats.crashes++;
    this.epoch++;
    for (const d of this.dirs.values()) {
      const next = new Map<string, Inode>();
      for (const name of new Set([...d.live.keys(), ...d.durable.keys()])) {
        const inode = keep() ? d.live.get(name) : d.durable.get(name);
        if (inode !== undefined) next.set(name, inode);
      }
      d.live = next;
      d.durable = new Map(next);
    }
    for (const d of this.dirs.values()) {
      for (const inode of d.live.values()) {
        if (keep()) inode.durableSize = inode.size;
        else inode.size = inode.durableSize;
        inode.lock = null;
      }
    }
    for (const h of this.handles) h.dead = true;
    this.handles = new Set();
    this.crashAfter = undefined;
  }

  /** Crash when the `ops`-th next operation starts (before it takes effect). */
  crashAfterOps(ops: number, options: CrashOptions = {}): void {
    this.crashAfter = { ops, options };
  }

  /** Make matching operations fail with `fault.code` (see `Fault`). */
  injectFault(fault: Fault): void {
    this.faults.push({ after: 0, times: 1, ...fault, op: opName(fault.op), path: fault.path });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Hold every operation `op` before it takes effect until the returned function is called. */
  hold(name: FaultOp): () => void {
    const op = opName(name);
    let release!: () => void;
    this.gates.set(op, new Promise<void>((r) => (release = r)));
    return () => {
      this.gates.delete(op);
      release();
    };
  }

  /** Mark `path` as a directory (opening it then fails with EISDIR). */
  mkdir(path: string): void {
    this.directories.add(path);
    this.dir(path);
  }

  /** Size the file at `path` has now (volatile view), or undefined if absent. */
  sizeOf(path: string): number | undefined {
    return this.dirs.get(posix.dirname(path))?.live.get(posix.basename(path))?.size;
  }

  /** Size the file at `path` would have after a crash now, or undefined if it would not exist. */
  durableSizeOf(path: string): number | undefined {
    return this.dirs.get(posix.dirname(path))?.durable.get(posix.basename(path))?.durableSize;
  }

  /** Names in `dir`, as seen now or (with `durable`) as a crash now would leave them. */
  list(dir: string, durable = false): string[] {
    const d = this.dirs.get(dir);
    return d === undefined ? [] : [...(durable ? d.durable : d.live).keys()].sort();
  }

  // ---- internals, used by SimHandle ----

  /** @internal Run one operation: count, maybe crash, maybe fail, wait, then apply `effect`. */
  async run<T>(op: FileOp, path: string, handle: SimHandle | undefined, effect: () => T, epoch?: number): Promise<T> {
    this.stats.ops[op]++;
    if (this.crashAfter !== undefined && --this.crashAfter.ops <= 0) this.crash(this.crashAfter.options);
    const fault = this.takeFault(op, path);
    const inode = op === 'truncate' ? handle?.inode : undefined;
    if (inode !== undefined) {
      inode.truncatesInFlight++;
      this.stats.maxTruncatesInFlight = Math.max(this.stats.maxTruncatesInFlight, inode.truncatesInFlight);
    }
    try {
      await this.gates.get(op);
      const hops = Math.floor(this.rng() * (this.maxDelay + 1));
      for (let i = 0; i < hops; i++) await null;
      const dead = (handle !== undefined && (handle.dead || handle.closed)) || (epoch !== undefined && epoch !== this.epoch);
      if (dead) throw new SimError('EBADF', op, path);
      if (fault !== undefined) throw new SimError(fault, op, path);
      return effect();
    } finally {
      if (inode !== undefined) inode.truncatesInFlight--;
    }
  }

  /** @internal */
  limit(): number {
    return this.maxFileSize;
  }

  /** @internal */
  forget(h: SimHandle): void {
    this.handles.delete(h);
  }

  private takeFault(op: FileOp, path: string): string | undefined {
    for (const f of this.faults) {
      if (f.op !== op || (f.path !== undefined && f.path !== path) || f.times <= 0) continue;
      if (f.after > 0) {
        f.after--;
        continue;
      }
      f.times--;
      return f.code;
    }
    return undefined;
  }

  private dir(path: string): Dir {
    let d = this.dirs.get(path);
    if (d === undefined) {
      d = { live: new Map(), durable: new Map() };
      this.dirs.set(path, d);
    }
    return d;
  }
}

class SimHandle implements FileLayerHandle {
  dead = false;
  closed = false;
  constructor(
    private readonly disk: SimulatedDisk,
    readonly inode: Inode,
    private readonly path: string,
  ) {}

  size(): Promise<number> {
    return this.disk.run('size', this.path, this, () => this.inode.size);
  }
  truncate(size: number): Promise<void> {
    return this.disk.run('truncate', this.path, this, () => {
      if (size > this.disk.limit()) throw new SimError('EFBIG', 'truncate', this.path);
      this.inode.size = size;
    });
  }
  datasync(): Promise<void> {
    return this.disk.run('datasync', this.path, this, () => {
      this.inode.durableSize = this.inode.size;
    });
  }
  tryLock(): Promise<boolean> {
    return this.disk.run('lock', this.path, this, () => {
      if (this.inode.lock !== null && this.inode.lock !== this) return false;
      this.inode.lock = this;
      return true;
    });
  }
  close(): Promise<void> {
    return this.disk.run('close', this.path, this, () => {
      this.closed = true;
      if (this.inode.lock === this) this.inode.lock = null;
      this.disk.forget(this);
    });
  }
}

function emptyCounts(): Record<FileOp, number> {
  return { open: 0, size: 0, truncate: 0, datasync: 0, lock: 0, close: 0, readdir: 0, unlink: 0, syncDir: 0 };
}
