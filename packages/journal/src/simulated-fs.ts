/**
 * An in-memory `JournalFs` that behaves like a disk across power cuts and can
 * fail on demand. What survives `crash()`:
 *
 * - file contents and sizes: exactly what the last `datasync` saw, or — as on a
 *   real disk after a torn write — any prefix of the newer bytes beyond what the
 *   synced and current contents share, possibly with garbage or zeros in that
 *   torn region;
 * - directory entries (create, rename, unlink): the state at the last `fsyncDir`
 *   of that directory plus an in-order prefix of the operations since;
 * - directories themselves are durable at once (the journal's parent directory
 *   is the caller's business); locks are released (the process died).
 *
 * Handles opened before a crash fail with `EBADF` afterwards, and operations
 * still in flight at the crash never take effect, as if the process had died.
 * Every operation completes on a later macrotask, so concurrent callers really
 * overlap.
 */
import { dirname } from 'node:path';
import type { JournalFile, JournalFs, JournalLock } from './fs.js';

export type SimOp = 'open' | 'read' | 'write' | 'truncate' | 'datasync' | 'stat' | 'rename' | 'unlink' | 'fsyncDir' | 'size';
export type SimFaultCode = 'EIO' | 'ENOSPC' | 'EFBIG';

export interface SimFault {
  op: SimOp;
  code: SimFaultCode;
  /** Successful calls of `op` to let through before failing (default 0). */
  after?: number;
  /** How many calls fail (default 1; `Infinity` for all). */
  times?: number;
}

interface Inode {
  data: Buffer;
  durable: Buffer;
}

type DirOp =
  | { kind: 'link'; path: string; inode: Inode }
  | { kind: 'rename'; from: string; path: string; inode: Inode }
  | { kind: 'unlink'; path: string };

function ioError(code: string, op: string): Error {
  return Object.assign(new Error(`${code}: simulated failure of ${op}`), { code });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimulatedJournalFs implements JournalFs {
  private entries = new Map<string, Inode>();
  private durableEntries = new Map<string, Inode>();
  private pendingDirOps = new Map<string, DirOp[]>();
  private readonly locks = new Set<string>();
  private faults: Array<Required<SimFault>> = [];
  private generation = 0;
  private crashAt: { opsLeft: number; rng: () => number } | undefined;
  /** Calls per operation (successful or not), for assertions such as "N appends shared M syncs". */
  readonly counts: Record<SimOp, number> = {
    open: 0, read: 0, write: 0, truncate: 0, datasync: 0, stat: 0, rename: 0, unlink: 0, fsyncDir: 0, size: 0,
  };
  crashes = 0;

  /** Fail upcoming calls of `fault.op` with `fault.code`. A failing write first writes half its bytes (a short write). */
  injectFault(fault: SimFault): void {
    this.faults.push({ after: 0, times: 1, ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Power cut at the start of the (n+1)-th file operation from now (that operation fails with EBADF). */
  crashAfterOps(n: number, rng: () => number = Math.random): void {
    this.crashAt = { opsLeft: n, rng };
  }

  /** Power cut now: drop volatile state as described in the file comment. */
  crash(rng: () => number = Math.random): void {
    this.crashes++;
    this.generation++;
    this.crashAt = undefined;
    this.locks.clear();
    for (const [dir, ops] of this.pendingDirOps) {
      const keep = Math.floor(rng() * (ops.length + 1));
      for (const op of ops.slice(0, keep)) this.applyDirOp(this.durableEntries, op);
      this.pendingDirOps.delete(dir);
    }
    const seen = new Set<Inode>();
    for (const inode of [...this.entries.values(), ...this.durableEntries.values()]) {
      if (seen.has(inode)) continue;
      seen.add(inode);
      inode.data = crashContents(inode, rng);
      inode.durable = Buffer.from(inode.data);
    }
    this.entries = new Map(this.durableEntries);
  }

  /** Current (possibly volatile) bytes of `path`, for assertions. */
  contents(path: string): Buffer | undefined {
    const inode = this.entries.get(path);
    return inode ? Buffer.from(inode.data) : undefined;
  }

  /** Names currently visible (volatile view). */
  list(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Overwrite bytes of `path` both in the volatile and durable copies (bit rot, hand-made damage). */
  damage(path: string, offset: number, bytes: Uint8Array): void {
    const inode = this.entries.get(path);
    if (!inode) throw new Error(`no such file ${path}`);
    for (const buf of [inode.data, inode.durable]) {
      for (let i = 0; i < bytes.length && offset + i < buf.length; i++) buf[offset + i] = bytes[i]!;
    }
  }

  /** Replace `path`'s contents durably (test setup: a file as a crash might have left it). */
  setDurable(path: string, data: Uint8Array): void {
    const inode: Inode = { data: Buffer.from(data), durable: Buffer.from(data) };
    this.entries.set(path, inode);
    this.durableEntries.set(path, inode);
  }

  /** Common entry of every operation: let time pass, honour crash schedule, staleness and faults. */
  private async enter(op: SimOp, gen: number): Promise<void> {
    this.counts[op]++;
    await tick();
    if (this.crashAt && this.crashAt.opsLeft-- <= 0) this.crash(this.crashAt.rng);
    if (gen !== this.generation) throw ioError('EBADF', `${op} (process crashed)`);
    const i = this.faults.findIndex((f) => f.op === op);
    if (i < 0) return;
    const f = this.faults[i]!;
    if (f.after > 0) {
      f.after--;
      return;
    }
    if (--f.times <= 0) this.faults.splice(i, 1);
    throw ioError(f.code, op);
  }

  private recordDirOp(op: DirOp): void {
    this.applyDirOp(this.entries, op);
    const dir = dirname(op.path);
    const list = this.pendingDirOps.get(dir) ?? [];
    list.push(op);
    this.pendingDirOps.set(dir, list);
  }

  private applyDirOp(map: Map<string, Inode>, op: DirOp): void {
    if (op.kind === 'unlink') {
      map.delete(op.path);
      return;
    }
    // A rename replayed onto the durable map moves whatever name it found, like the real thing.
    if (op.kind === 'rename') map.delete(op.from);
    map.set(op.path, op.inode);
  }

  async mkdirp(): Promise<void> {
    // Directories are durable at once in this model.
  }

  open(path: string, opts: { create: boolean; truncate?: boolean }): Promise<JournalFile> {
    return this.openAt(this.generation, path, opts);
  }

  stat(path: string): Promise<{ size: number } | undefined> {
    return this.statAt(this.generation, path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.renameAt(this.generation, from, to);
  }

  unlink(path: string): Promise<void> {
    return this.unlinkAt(this.generation, path);
  }

  fsyncDir(dir: string): Promise<void> {
    return this.fsyncDirAt(this.generation, dir);
  }

  lock(path: string): Promise<JournalLock | undefined> {
    return this.lockAt(this.generation, path);
  }

  /**
   * A view of this disk for one simulated process lifetime: after the next
   * `crash()` every call through it fails with EBADF, so code of the "dead"
   * process that is still running cannot touch the disk the next process uses.
   */
  process(): JournalFs {
    const gen = this.generation;
    return {
      mkdirp: async () => {},
      open: (path, opts) => this.openAt(gen, path, opts),
      stat: (path) => this.statAt(gen, path),
      rename: (from, to) => this.renameAt(gen, from, to),
      unlink: (path) => this.unlinkAt(gen, path),
      fsyncDir: (dir) => this.fsyncDirAt(gen, dir),
      lock: (path) => this.lockAt(gen, path),
    };
  }

  private async openAt(gen: number, path: string, opts: { create: boolean; truncate?: boolean }): Promise<JournalFile> {
    await this.enter('open', gen);
    let inode = this.entries.get(path);
    if (!inode) {
      if (!opts.create) throw ioError('ENOENT', `open ${path}`);
      inode = { data: Buffer.alloc(0), durable: Buffer.alloc(0) };
      this.recordDirOp({ kind: 'link', path, inode });
    }
    if (opts.truncate) inode.data = Buffer.alloc(0);
    return new SimFile(this, inode, gen);
  }

  private async statAt(gen: number, path: string): Promise<{ size: number } | undefined> {
    await this.enter('stat', gen);
    const inode = this.entries.get(path);
    return inode ? { size: inode.data.length } : undefined;
  }

  private async renameAt(gen: number, from: string, to: string): Promise<void> {
    await this.enter('rename', gen);
    const inode = this.entries.get(from);
    if (!inode) throw ioError('ENOENT', `rename ${from}`);
    if (dirname(from) !== dirname(to)) throw ioError('EXDEV', 'rename across directories is not modelled');
    // Rename is one directory operation: after a crash it happened entirely or not at all.
    this.recordDirOp({ kind: 'rename', from, path: to, inode });
  }

  private async unlinkAt(gen: number, path: string): Promise<void> {
    await this.enter('unlink', gen);
    if (this.entries.has(path)) this.recordDirOp({ kind: 'unlink', path });
  }

  private async fsyncDirAt(gen: number, dir: string): Promise<void> {
    await this.enter('fsyncDir', gen);
    for (const op of this.pendingDirOps.get(dir) ?? []) this.applyDirOp(this.durableEntries, op);
    this.pendingDirOps.delete(dir);
  }

  private async lockAt(gen: number, path: string): Promise<JournalLock | undefined> {
    if (gen !== this.generation) throw ioError('EBADF', 'lock (process crashed)');
    if (this.locks.has(path)) return undefined;
    this.locks.add(path);
    return {
      release: async () => {
        if (gen === this.generation) this.locks.delete(path);
      },
    };
  }

  /** @internal used by SimFile */
  async fileOp(op: SimOp, gen: number): Promise<void> {
    await this.enter(op, gen);
  }
}

class SimFile implements JournalFile {
  private closed = false;

  constructor(
    private readonly fs: SimulatedJournalFs,
    private readonly inode: Inode,
    private readonly gen: number,
  ) {}

  private async enter(op: SimOp): Promise<void> {
    if (this.closed) throw ioError('EBADF', `${op} on closed file`);
    await this.fs.fileOp(op, this.gen);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    try {
      await this.enter('write');
    } catch (err) {
      // A failing write (ENOSPC, EIO) may still have written part of the data.
      if ((err as { code?: string }).code !== 'EBADF') this.put(data.subarray(0, data.length >> 1), position);
      throw err;
    }
    this.put(data, position);
  }

  private put(data: Uint8Array, position: number): void {
    const end = position + data.length;
    if (end > this.inode.data.length) {
      const grown = Buffer.alloc(end);
      this.inode.data.copy(grown);
      this.inode.data = grown;
    }
    this.inode.data.set(data, position);
  }

  async read(buf: Uint8Array, length: number, position: number): Promise<number> {
    await this.enter('read');
    const src = this.inode.data.subarray(position, position + length);
    buf.set(src, 0);
    return src.length;
  }

  async size(): Promise<number> {
    await this.enter('size');
    return this.inode.data.length;
  }

  async truncate(size: number): Promise<void> {
    await this.enter('truncate');
    const next = Buffer.alloc(size);
    this.inode.data.copy(next, 0, 0, Math.min(size, this.inode.data.length));
    this.inode.data = next;
  }

  async datasync(): Promise<void> {
    await this.enter('datasync');
    this.inode.durable = Buffer.from(this.inode.data);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** What a file holds after a power cut: synced bytes, or a torn prefix of newer bytes (maybe garbled). */
function crashContents(inode: Inode, rng: () => number): Buffer {
  const { data, durable } = inode;
  if (data.equals(durable)) return Buffer.from(durable);
  const roll = rng();
  if (roll < 0.3) return Buffer.from(durable);
  let common = 0;
  const n = Math.min(data.length, durable.length);
  while (common < n && data[common] === durable[common]) common++;
  const keep = common + Math.floor(rng() * (data.length - common + 1));
  const out = Buffer.from(data.subarray(0, keep));
  if (roll > 0.65 && keep > common) {
    // Garbage in the torn region: the sector reached the platter half-written.
    const from = common + Math.floor(rng() * (keep - common));
    const to = from + Math.floor(rng() * (keep - from + 1));
    for (let i = from; i < to; i++) out[i] = Math.floor(rng() * 256);
  } else if (roll > 0.55 && keep > common) {
    // The size reached the disk but the data did not: a zero-filled tail.
    out.fill(0, common);
  }
  return out;
}
