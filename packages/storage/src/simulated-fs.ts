/**
 * The one crash simulator: an in-memory FileSystem that models what each
 * fault of Pharaoh's crash model keeps, so every package's crash tests run
 * against the same disk.
 *
 * - `killProcess()` — **process death** (SIGKILL, OOM, a supervisor restart):
 *   the page cache survives, so every size, byte and directory entry stays as
 *   the process left it, synced or not; open handles and locks are gone, and
 *   operations still in flight never take effect.
 * - `powerLoss()` — **power loss** (also kills the process): only what a
 *   completed `datasync`/`syncDir` covered is sure to survive. Each unsynced
 *   directory operation (create, mkdir, rename, unlink) survives or not,
 *   independently; a file's size lands anywhere between its durable and its
 *   latest value; each unsynced byte range reads as zero, the old bytes or
 *   the new bytes. A directory whose own entry is lost takes its contents
 *   with it, synced or not.
 * - any sequence of the two, any number of times.
 *
 * Everything random comes from one seeded PRNG, so a failing schedule is
 * replayed from its seed. It also injects I/O errors, holds an operation at a
 * gate, delays operations so concurrent ones complete out of order (like
 * libuv's thread pool), and counts calls.
 */
import { posix } from 'node:path';
import { FILE_OPS, type FileHandle, type FileOp, type FileStat, type FileSystem, type OpenOptions } from './file-system.js';
import { mulberry32 } from './random.js';

export interface Fault {
  op: FileOp;
  /** errno-style code of the injected error: 'EIO', 'ENOSPC', 'EFBIG', ... */
  code: string;
  /** Let this many matching calls succeed first. Default 0. */
  after?: number;
  /** Fail this many matching calls. Default 1; `Infinity` for every later call. */
  times?: number;
  /** Only calls on this path (for directory ops: the directory). Default: any path. */
  path?: string;
}

/** Which fault a scheduled crash is. */
export type CrashKind = 'process' | 'power';

export interface SimulatedFsOptions {
  /** Seed of the PRNG behind delays and what survives a power loss. Default 1. */
  seed?: number;
  /** Directories that exist (durably) from the start, with their parents. */
  dirs?: string[];
  /** Like a real file system's limit: growing a file past it fails with EFBIG. Default: none. */
  maxFileSize?: number;
  /** Each operation completes after 0..maxDelay extra microtask hops chosen by the PRNG. Default 3. */
  maxDelay?: number;
}

interface FileNode {
  kind: 'file';
  size: number;
  /** Materialized bytes; beyond `bytes.length` (up to `size`) the file reads zeros (sparse). */
  bytes: Buffer;
  durableSize: number;
  durableBytes: Buffer;
  lock: SimHandle | null;
  truncatesInFlight: number;
}

interface DirNode {
  kind: 'dir';
  /** What `readdir`/`open` see now. */
  live: Map<string, Node>;
  /** Entries as of the last `syncDir`. */
  durable: Map<string, Node>;
  /** Entry operations since the last `syncDir`, in order; at a power loss each survives or not. */
  pending: EntryOp[];
}

type Node = FileNode | DirNode;
type EntryOp = { kind: 'link'; name: string; node: Node } | { kind: 'unlink'; name: string; node: Node } | { kind: 'rename'; from: string; name: string; node: Node };

export class SimError extends Error {
  constructor(
    readonly code: string,
    readonly syscall: string,
    readonly path: string,
  ) {
    super(`${code}: simulated ${syscall} '${path}'`);
  }
}

/** How a byte range of an unsynced file reads after a power loss. */
const enum Piece {
  Old,
  New,
  Zero,
}

export class SimulatedFs implements FileSystem {
  readonly rng: () => number;
  readonly stats = { ops: countsOf(), maxTruncatesInFlight: 0, processDeaths: 0, powerLosses: 0 };
  private readonly maxFileSize: number;
  private readonly maxDelay: number;
  private readonly root: DirNode = newDir();
  private handles = new Set<SimHandle>();
  private faults: Array<{ op: FileOp; code: string; after: number; times: number; path: string | undefined }> = [];
  private readonly gates = new Map<FileOp, Promise<void>>();
  private scheduled: { ops: number; kind: CrashKind } | undefined;
  /** Process lifetimes so far: a view or handle from an older one is dead. */
  private epoch = 0;

  constructor(options: SimulatedFsOptions = {}) {
    this.rng = mulberry32(options.seed ?? 1);
    this.maxFileSize = options.maxFileSize ?? Infinity;
    this.maxDelay = options.maxDelay ?? 3;
    for (const d of options.dirs ?? []) this.mkdirp(d);
  }

  // ---- FileSystem (calls made directly on the simulator belong to the current process) ----

  open(path: string, options?: OpenOptions): Promise<FileHandle> {
    return this.view(this.epoch).open(path, options);
  }
  stat(path: string): Promise<FileStat | undefined> {
    return this.view(this.epoch).stat(path);
  }
  readdir(dir: string): Promise<string[]> {
    return this.view(this.epoch).readdir(dir);
  }
  mkdir(dir: string): Promise<boolean> {
    return this.view(this.epoch).mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.view(this.epoch).rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.view(this.epoch).unlink(path);
  }
  syncDir(dir: string): Promise<void> {
    return this.view(this.epoch).syncDir(dir);
  }
  syncAll(path: string): Promise<boolean> {
    return this.view(this.epoch).syncAll!(path);
  }

  /** A view for the current process: every call through it fails EBADF once that process has died. */
  forProcess(): FileSystem {
    return this.view(this.epoch);
  }

  private view(epoch: number): FileSystem {
    return {
      open: (path, o = {}) => this.run('open', path, epoch, undefined, () => this.doOpen(epoch, path, o)),
      stat: (path) => this.run('stat', path, epoch, undefined, () => this.doStat(path)),
      readdir: (dir) => this.run('readdir', dir, epoch, undefined, () => [...this.dirAt(dir, 'readdir').live.keys()]),
      mkdir: (dir) => this.run('mkdir', norm(dir), epoch, undefined, () => this.doMkdir(dir)),
      rename: (from, to) => this.run('rename', posix.dirname(norm(from)), epoch, undefined, () => this.doRename(from, to)),
      unlink: (path) => this.run('unlink', path, epoch, undefined, () => this.doUnlink(path)),
      syncDir: (dir) =>
        this.run('syncDir', norm(dir), epoch, undefined, () => {
          const d = this.dirAt(dir, 'fsync');
          d.durable = new Map(d.live);
          d.pending = [];
        }),
      // One simulated file system: everything reachable becomes durable.
      syncAll: (path) => this.run('syncAll', norm(path), epoch, undefined, () => this.syncEverything()),
    };
  }

  private syncEverything(): boolean {
    const visit = (d: DirNode): void => {
      d.durable = new Map(d.live);
      d.pending = [];
      for (const n of d.live.values()) {
        if (n.kind === 'dir') visit(n);
        else {
          n.durableSize = n.size;
          n.durableBytes = Buffer.from(n.bytes);
        }
      }
    };
    visit(this.root);
    return true;
  }

  // ---- faults of the crash model ----

  /** Process death: volatile state stays; handles, locks and in-flight operations die. */
  killProcess(): void {
    this.stats.processDeaths++;
    this.endProcess();
  }

  /** Power loss (kills the process too): keep what was synced, and a random part of the rest (see the file comment). */
  powerLoss(): void {
    this.stats.powerLosses++;
    this.endProcess();
    const files = new Set<FileNode>();
    const visit = (d: DirNode): void => {
      // Both the live and the durable tree: a file can be reachable in one only.
      for (const n of new Set([...d.live.values(), ...d.durable.values()])) {
        if (n.kind === 'file') files.add(n);
        else visit(n);
      }
      const survivors = d.pending.filter(() => this.rng() < 0.5);
      const next = new Map(d.durable);
      for (const op of survivors) applyEntryOp(next, op);
      d.durable = next;
      d.live = new Map(next);
      d.pending = [];
    };
    visit(this.root);
    for (const f of files) this.settleFile(f);
  }

  /** Take the crash `kind` when the `ops`-th operation from now starts (that operation fails EBADF). */
  crashAfterOps(ops: number, kind: CrashKind): void {
    this.scheduled = { ops, kind };
  }

  /** Cancel a crash scheduled by `crashAfterOps`. */
  cancelCrash(): void {
    this.scheduled = undefined;
  }

  /** Make matching operations fail with `fault.code` (a failing `write` still writes half its bytes). */
  injectFault(fault: Fault): void {
    this.faults.push({ op: fault.op, code: fault.code, after: fault.after ?? 0, times: fault.times ?? 1, path: fault.path === undefined ? undefined : norm(fault.path) });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Hold every operation `op` before it takes effect until the returned function is called. */
  hold(op: FileOp): () => void {
    let release!: () => void;
    this.gates.set(op, new Promise<void>((r) => (release = r)));
    return () => {
      this.gates.delete(op);
      release();
    };
  }

  // ---- inspection and setup for tests (synchronous, not counted) ----

  /** Create `dir` and its parents, durably (test setup). */
  mkdirp(dir: string): void {
    let d = this.root;
    for (const part of parts(dir)) {
      let next = d.live.get(part);
      if (next === undefined) {
        next = newDir();
        d.live.set(part, next);
        d.durable.set(part, next);
      }
      if (next.kind !== 'dir') throw new SimError('ENOTDIR', 'mkdirp', dir);
      d = next;
    }
  }

  /** Put a file with `data` at `path`, durably (test setup: a file as some earlier run left it). */
  setFile(path: string, data: Uint8Array | string, size?: number): void {
    const d = this.dirAt(posix.dirname(norm(path)), 'setFile');
    const bytes = Buffer.from(data);
    const f: FileNode = { kind: 'file', size: size ?? bytes.length, bytes, durableSize: size ?? bytes.length, durableBytes: Buffer.from(bytes), lock: null, truncatesInFlight: 0 };
    d.live.set(posix.basename(path), f);
    d.durable.set(posix.basename(path), f);
  }

  /** Overwrite bytes of `path` in both its current and its durable content (bit rot, hand-made damage). */
  damage(path: string, offset: number, data: Uint8Array): void {
    const f = this.fileAt(path);
    if (f === undefined) throw new SimError('ENOENT', 'damage', path);
    f.bytes = writeInto(f.bytes, data, offset);
    f.durableBytes = writeInto(f.durableBytes, data, offset);
    f.size = Math.max(f.size, offset + data.length);
    f.durableSize = Math.max(f.durableSize, offset + data.length);
  }

  /** Current size of `path`, or undefined if absent. */
  sizeOf(path: string): number | undefined {
    return this.fileAt(path)?.size;
  }

  /** Synced size of `path` (if its entry is durable), or undefined. */
  durableSizeOf(path: string): number | undefined {
    let d: DirNode = this.root;
    const ps = parts(path);
    for (const [i, part] of ps.entries()) {
      const n = d.durable.get(part);
      if (n === undefined) return undefined;
      if (i === ps.length - 1) return n.kind === 'file' ? n.durableSize : undefined;
      if (n.kind !== 'dir') return undefined;
      d = n;
    }
    return undefined;
  }

  /** Current content of `path` (sparse tail as zeros), or undefined. */
  contents(path: string): Buffer | undefined {
    const f = this.fileAt(path);
    return f === undefined ? undefined : contentOf(f.bytes, f.size);
  }

  /** Names in `dir`, sorted, as seen now (or as of its last `syncDir`). */
  list(dir: string, durable = false): string[] {
    const d = this.lookup(norm(dir));
    return d?.kind === 'dir' ? [...(durable ? d.durable : d.live).keys()].sort() : [];
  }

  exists(path: string): boolean {
    return this.lookup(norm(path)) !== undefined;
  }

  // ---- internals ----

  private endProcess(): void {
    this.epoch++;
    this.scheduled = undefined;
    for (const h of this.handles) h.dead = true;
    this.handles = new Set();
    const unlock = (d: DirNode): void => {
      for (const n of new Set([...d.live.values(), ...d.durable.values()])) {
        if (n.kind === 'file') n.lock = null;
        else unlock(n);
      }
    };
    unlock(this.root);
  }

  /** After a power loss: the size lands between durable and latest; unsynced ranges read old, new or zero. */
  private settleFile(f: FileNode): void {
    if (f.size === f.durableSize && f.bytes.equals(f.durableBytes)) return;
    const lo = Math.min(f.size, f.durableSize);
    const hi = Math.max(f.size, f.durableSize);
    const r = this.rng();
    const size = r < 0.3 ? f.durableSize : r < 0.6 ? f.size : lo + Math.floor(this.rng() * (hi - lo + 1));
    const materialized = Math.min(size, Math.max(f.bytes.length, f.durableBytes.length));
    const oldB = contentOf(f.durableBytes, materialized);
    const newB = contentOf(f.bytes, materialized);
    const oldLen = Math.min(f.durableSize, materialized);
    const out = Buffer.alloc(materialized);
    for (let pos = 0; pos < materialized; ) {
      const end = Math.min(materialized, pos + 1 + Math.floor(this.rng() * 512));
      const piece = pickPiece(this.rng());
      for (let i = pos; i < end; i++) {
        const synced = i < oldLen && oldB[i] === newB[i];
        // Bytes that were synced and not changed since are not at risk.
        out[i] = synced || piece === Piece.Old ? oldB[i]! : piece === Piece.New ? newB[i]! : 0;
      }
      pos = end;
    }
    f.size = size;
    f.bytes = trimZeros(out);
    f.durableSize = size;
    f.durableBytes = Buffer.from(f.bytes);
  }

  private async run<T>(op: FileOp, path: string, epoch: number, handle: SimHandle | undefined, effect: () => T): Promise<T> {
    this.stats.ops[op]++;
    if (this.scheduled !== undefined && --this.scheduled.ops <= 0) {
      const kind = this.scheduled.kind;
      if (kind === 'power') this.powerLoss();
      else this.killProcess();
    }
    const fault = this.takeFault(op, path);
    const inode = op === 'truncate' ? handle?.node : undefined;
    if (inode !== undefined) {
      inode.truncatesInFlight++;
      this.stats.maxTruncatesInFlight = Math.max(this.stats.maxTruncatesInFlight, inode.truncatesInFlight);
    }
    try {
      await this.gates.get(op);
      const hops = Math.floor(this.rng() * (this.maxDelay + 1));
      for (let i = 0; i < hops; i++) await null;
      if (epoch !== this.epoch || (handle !== undefined && (handle.dead || handle.closed))) throw new SimError('EBADF', op, path);
      if (fault !== undefined) {
        if (op === 'write' && handle !== undefined) handle.partialWrite();
        throw new SimError(fault, op, path);
      }
      return effect();
    } finally {
      if (inode !== undefined) inode.truncatesInFlight--;
    }
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

  private doOpen(epoch: number, path: string, o: OpenOptions): FileHandle {
    const d = this.dirAt(posix.dirname(norm(path)), 'open');
    const name = posix.basename(path);
    let n = d.live.get(name);
    if (n?.kind === 'dir') throw new SimError('EISDIR', 'open', path);
    if (n === undefined) {
      if (!o.create) throw new SimError('ENOENT', 'open', path);
      n = { kind: 'file', size: 0, bytes: Buffer.alloc(0), durableSize: 0, durableBytes: Buffer.alloc(0), lock: null, truncatesInFlight: 0 };
      this.entryOp(d, { kind: 'link', name, node: n });
    }
    if (o.truncate) {
      n.size = 0;
      n.bytes = Buffer.alloc(0);
    }
    const h = new SimHandle(this, n, norm(path), epoch);
    this.handles.add(h);
    return h;
  }

  private doStat(path: string): FileStat | undefined {
    const n = this.lookup(norm(path));
    if (n === undefined) return undefined;
    return n.kind === 'dir' ? { size: 4096, isDirectory: true } : { size: n.size, isDirectory: false };
  }

  private doMkdir(dir: string): boolean {
    const parent = this.dirAt(posix.dirname(norm(dir)), 'mkdir');
    const name = posix.basename(dir);
    const n = parent.live.get(name);
    if (n?.kind === 'dir') return false;
    if (n !== undefined) throw new SimError('EEXIST', 'mkdir', dir);
    this.entryOp(parent, { kind: 'link', name, node: newDir() });
    return true;
  }

  private doRename(from: string, to: string): void {
    if (posix.dirname(norm(from)) !== posix.dirname(norm(to))) throw new SimError('EXDEV', 'rename', `${from} -> ${to} (only renames within one directory are modelled)`);
    const d = this.dirAt(posix.dirname(norm(from)), 'rename');
    const node = d.live.get(posix.basename(from));
    if (node === undefined) throw new SimError('ENOENT', 'rename', from);
    if (d.live.get(posix.basename(to))?.kind === 'dir') throw new SimError('EISDIR', 'rename', to);
    this.entryOp(d, { kind: 'rename', from: posix.basename(from), name: posix.basename(to), node });
  }

  private doUnlink(path: string): void {
    const d = this.dirAt(posix.dirname(norm(path)), 'unlink');
    const node = d.live.get(posix.basename(path));
    if (node === undefined) throw new SimError('ENOENT', 'unlink', path);
    if (node.kind === 'dir') throw new SimError('EISDIR', 'unlink', path);
    this.entryOp(d, { kind: 'unlink', name: posix.basename(path), node });
  }

  private entryOp(d: DirNode, op: EntryOp): void {
    applyEntryOp(d.live, op);
    d.pending.push(op);
  }

  private lookup(path: string): Node | undefined {
    let n: Node = this.root;
    for (const part of parts(path)) {
      if (n.kind !== 'dir') return undefined;
      const next: Node | undefined = n.live.get(part);
      if (next === undefined) return undefined;
      n = next;
    }
    return n;
  }

  private dirAt(path: string, syscall: string): DirNode {
    let n: Node = this.root;
    for (const part of parts(path)) {
      if (n.kind !== 'dir') throw new SimError('ENOTDIR', syscall, path);
      const next: Node | undefined = n.live.get(part);
      if (next === undefined) throw new SimError('ENOENT', syscall, path);
      n = next;
    }
    if (n.kind !== 'dir') throw new SimError('ENOTDIR', syscall, path);
    return n;
  }

  private fileAt(path: string): FileNode | undefined {
    const n = this.lookup(norm(path));
    return n?.kind === 'file' ? n : undefined;
  }

  /** @internal */
  runOn<T>(op: FileOp, h: SimHandle, effect: () => T): Promise<T> {
    return this.run(op, h.path, h.epoch, h, effect);
  }

  /** @internal */
  limit(): number {
    return this.maxFileSize;
  }

  /** @internal */
  forget(h: SimHandle): void {
    this.handles.delete(h);
  }
}

class SimHandle implements FileHandle {
  dead = false;
  closed = false;
  private pendingWrite: { data: Uint8Array; position: number } | undefined;

  constructor(
    private readonly sim: SimulatedFs,
    readonly node: FileNode,
    readonly path: string,
    readonly epoch: number,
  ) {}

  size(): Promise<number> {
    return this.sim.runOn('size', this, () => this.node.size);
  }

  read(buf: Uint8Array, length: number, position: number): Promise<number> {
    return this.sim.runOn('read', this, () => {
      const end = Math.min(this.node.size, position + length);
      if (end <= position) return 0;
      buf.fill(0, 0, end - position);
      const src = this.node.bytes.subarray(Math.min(position, this.node.bytes.length), Math.min(end, this.node.bytes.length));
      buf.set(src, 0);
      return end - position;
    });
  }

  write(data: Uint8Array, position: number): Promise<void> {
    this.pendingWrite = { data, position };
    return this.sim.runOn('write', this, () => this.put(data, position)).finally(() => {
      this.pendingWrite = undefined;
    });
  }

  /** @internal An injected write failure may still have written part of the data (a short write). */
  partialWrite(): void {
    const w = this.pendingWrite;
    if (w !== undefined) this.put(w.data.subarray(0, w.data.length >> 1), w.position);
  }

  private put(data: Uint8Array, position: number): void {
    const end = position + data.length;
    if (end > this.sim.limit()) throw new SimError('EFBIG', 'write', this.path);
    this.node.bytes = writeInto(this.node.bytes, data, position);
    this.node.size = Math.max(this.node.size, end);
  }

  truncate(size: number): Promise<void> {
    return this.sim.runOn('truncate', this, () => {
      if (size > this.sim.limit()) throw new SimError('EFBIG', 'truncate', this.path);
      this.node.size = size;
      if (this.node.bytes.length > size) this.node.bytes = Buffer.from(this.node.bytes.subarray(0, size));
    });
  }

  datasync(): Promise<void> {
    return this.sim.runOn('datasync', this, () => {
      this.node.durableSize = this.node.size;
      this.node.durableBytes = Buffer.from(this.node.bytes);
    });
  }

  tryLock(): Promise<boolean> {
    return this.sim.runOn('lock', this, () => {
      if (this.node.lock !== null && this.node.lock !== this) return false;
      this.node.lock = this;
      return true;
    });
  }

  close(): Promise<void> {
    return this.sim.runOn('close', this, () => {
      this.closed = true;
      if (this.node.lock === this) this.node.lock = null;
      this.sim.forget(this);
    });
  }
}

function newDir(): DirNode {
  return { kind: 'dir', live: new Map(), durable: new Map(), pending: [] };
}

function applyEntryOp(map: Map<string, Node>, op: EntryOp): void {
  switch (op.kind) {
    case 'link':
      map.set(op.name, op.node);
      return;
    case 'unlink':
      if (map.get(op.name) === op.node) map.delete(op.name);
      return;
    case 'rename':
      // Replayed alone onto the durable entries, a rename moves the inode it named, wherever its source entry is.
      if (map.get(op.from) === op.node) map.delete(op.from);
      map.set(op.name, op.node);
      return;
  }
}

function norm(path: string): string {
  return posix.normalize(posix.resolve('/', path));
}

function parts(path: string): string[] {
  return norm(path).split('/').filter((p) => p !== '');
}

function countsOf(): Record<FileOp, number> {
  return Object.fromEntries(FILE_OPS.map((op) => [op, 0])) as Record<FileOp, number>;
}

function writeInto(bytes: Buffer, data: Uint8Array, position: number): Buffer {
  const end = position + data.length;
  let out = bytes;
  if (end > bytes.length) {
    out = Buffer.alloc(end);
    bytes.copy(out);
  }
  out.set(data, position);
  return out;
}

/** The first `size` bytes of a file whose materialized part is `bytes` (zeros beyond it). */
function contentOf(bytes: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  bytes.copy(out, 0, 0, Math.min(size, bytes.length));
  return out;
}

function trimZeros(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return Buffer.from(b.subarray(0, end));
}

function pickPiece(r: number): Piece {
  return r < 0.4 ? Piece.Old : r < 0.8 ? Piece.New : Piece.Zero;
}
