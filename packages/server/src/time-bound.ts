/**
 * One durable time bound per process: every generator of the shards a process
 * hosts issues below one Obelisk counter, `<data>/<service>/bound-<n>`, so a
 * busy process makes one bound fsync per window (not one per shard) and an
 * idle shard takes the durable value the busy ones made without waiting.
 *
 * Several processes may share a data dir (each hosting other shards of the
 * service), so there may be several such files ("slots"). A process locks the
 * first free slot (the lock of a dead process is gone) or creates the next.
 * A shard may have been hosted before by another process of the data dir, so
 * it resumes at the **floor**: the largest value of every slot, read at start.
 * Every ID any process of this data dir issued had a unit below its slot's
 * value at the time, and a slot only grows, so resuming at the floor keeps
 * every shard's IDs above all it issued here before. (A value read from a live
 * or dead owner's page cache may be above what is durable: starting above it
 * is only more careful, and this process's own slot is made durable past
 * every unit it issues.)
 *
 * A shard that leaves for another data dir carries the bound in its own
 * `<shard dir>/bound` (written when it closes gracefully); the next host
 * resumes at the larger of that and its own floor.
 */
import { posix } from 'node:path';
import { Obelisk, ObeliskError, type SyncInfo } from '@pharaoh/obelisk';
import { sharedBound, type DurableBound } from '@pharaoh/snowflake';
import type { FileSystem } from '@pharaoh/storage';

/** Slot files are `bound-<n>` (and `bound-<n>.seg-<base>` after an Obelisk rollover). */
const SLOT = /^bound-(0|[1-9]\d{0,5})(?:\.seg-([1-9]\d*))?$/;
// Two processes racing to create the same new slot: the loser tries the next name.
const CREATE_ATTEMPTS = 8;

export class ProcessBound {
  /** The bound every generator of this process uses. */
  readonly shared: DurableBound;

  private constructor(
    private readonly counter: Obelisk,
    /** Ticks: the largest value of every slot of the data dir, read at start. */
    readonly floor: number,
  ) {
    this.shared = sharedBound(counter);
  }

  /** This process's durable value (ticks). */
  get value(): number {
    return this.counter.value;
  }

  /**
   * Take a slot in `serviceDir` (which exists) and read the floor. Rejects with
   * Obelisk's errors (IO, ...) if no slot can be opened.
   */
  static async open(fs: FileSystem, serviceDir: string, onSync?: (info: SyncInfo) => void): Promise<ProcessBound> {
    const slots = await readSlots(fs, serviceDir);
    const options = { fs, ...(onSync ? { onSync } : {}) };
    let counter: Obelisk | undefined;
    for (const n of [...new Set(slots.map((s) => s.n))].sort((a, b) => a - b)) {
      counter = await tryOpen(posix.join(serviceDir, `bound-${n}`), options);
      if (counter !== undefined) break;
    }
    let next = slots.reduce((m, s) => Math.max(m, s.n + 1), 0);
    for (let i = 0; counter === undefined && i < CREATE_ATTEMPTS; i++) counter = await tryOpen(posix.join(serviceDir, `bound-${next++}`), options);
    if (counter === undefined) throw new Error(`cannot take a time-bound slot in ${serviceDir}: every slot tried was locked`);
    const floor = slots.reduce((m, s) => Math.max(m, s.value), counter.value);
    return new ProcessBound(counter, floor);
  }

  /** The counter failed (poisoned by a failed ftruncate/fdatasync, or closed): reopen it to go on. */
  get failed(): boolean {
    return this.counter.poisoned || this.counter.closed;
  }

  close(): Promise<void> {
    return this.counter.close();
  }
}

async function tryOpen(path: string, options: { fs: FileSystem }): Promise<Obelisk | undefined> {
  try {
    return await Obelisk.open(path, options);
  } catch (err) {
    if (err instanceof ObeliskError && err.code === 'LOCKED') return undefined;
    throw err;
  }
}

/**
 * The largest value (ticks) of every slot of `serviceDir` as read now: every
 * ID any process of this data dir issued so far lies below it (a shard that
 * arrives by a move resumes above it).
 */
export async function readFloor(fs: FileSystem, serviceDir: string): Promise<number> {
  return (await readSlots(fs, serviceDir)).reduce((m, s) => Math.max(m, s.value), 0);
}

/** Every slot file of the dir with its value (base + size), as this process sees it now. */
async function readSlots(fs: FileSystem, dir: string): Promise<Array<{ n: number; value: number }>> {
  const out: Array<{ n: number; value: number }> = [];
  for (const name of await fs.readdir(dir)) {
    const m = SLOT.exec(name);
    if (m === null) continue;
    const st = await fs.stat(posix.join(dir, name));
    if (st === undefined || st.isDirectory) continue; // removed meanwhile (a rollover), or not ours
    out.push({ n: Number(m[1]), value: Number(m[2] ?? 0) + st.size });
  }
  return out;
}

/**
 * A shard's own bound, `<shard dir>/bound`: a plain sparse file whose size is
 * a value in ticks (the bound the shard carries between data dirs, and its
 * "opened completely once" mark). It is not a counter the shard serves from,
 * so it needs no lock of its own (the identity lock covers the directory) and
 * no fdatasync when read: a value above the durable one, left by a process
 * that died, only makes the next start more careful.
 */
export class ShardBound {
  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private current: number,
  ) {}

  /** The value (0 if the file does not exist yet). */
  get value(): number {
    return this.current;
  }

  static async read(fs: FileSystem, path: string): Promise<ShardBound> {
    const st = await fs.stat(path);
    if (st?.isDirectory) throw Object.assign(new Error(`${path} is a directory, not a bound file`), { code: 'EISDIR' });
    return new ShardBound(fs, path, st?.size ?? 0);
  }

  /**
   * Raise the value to `v` (ftruncate; never lowers), durably unless `sync`
   * is false (fdatasync: the caller syncs it otherwise, e.g. with every other
   * shard's at once). A created file's directory entry is the caller's to fsync.
   */
  async raise(v: number, sync = true): Promise<void> {
    if (v <= this.current) return;
    const h = await this.fs.open(this.path, { create: true });
    try {
      // Another writer is impossible under the shard lock; re-read anyway so a
      // larger value on disk is never cut down.
      if ((await h.size()) < v) await h.truncate(v);
      if (sync) await h.datasync();
    } finally {
      await h.close();
    }
    this.current = v;
  }

  /** fdatasync the file (after `raise(v, false)`); nothing to do if it does not exist. */
  async sync(): Promise<void> {
    if (this.current === 0) return;
    const h = await this.fs.open(this.path);
    try {
      await h.datasync();
    } finally {
      await h.close();
    }
  }
}
