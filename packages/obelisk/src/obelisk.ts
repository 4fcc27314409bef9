import { posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errnoCode, type FileHandle, type FileSystem } from '@pharaoh/storage';
import { ObeliskError, ioError } from './errors.js';
import { MAX_VALUE, parseOptions, type ObeliskOptions, type ResolvedOptions, type SyncInfo } from './options.js';
import { Round, type Range } from './round.js';
import { openOwnedSegment, segmentName } from './segments.js';

/** What the snowflake generator needs from a durable bound (Obelisk satisfies it). */
export interface DurableBound {
  readonly value: number;
  advanceTo(v: number): Promise<number>;
}

/**
 * A persistent monotonic counter whose value is the size of a sparse file.
 *
 * Invariants: the file only grows, by `ftruncate` (never by writing bytes); a
 * value is released only after an `fdatasync` made a size >= it durable; one
 * `ftruncate` then one `fdatasync` at a time (group commit: all calls queued
 * while a sync runs share the next one); one owner at a time (OFD lock); after a
 * failed `ftruncate`/`fdatasync` nothing more is released (poisoned). The
 * value is read under the lock, and an `ftruncate` that would shrink the file
 * poisons the counter instead. Calls resolve in the order their values were
 * handed out. With `reserveAhead` (opt-in) the durable size may run ahead of
 * the values handed out; a call it covers resolves without waiting.
 */
export class Obelisk implements DurableBound {
  private readonly fs: FileSystem;
  private readonly dir: string;
  private readonly name: string;
  private readonly maxFileSize: number;
  private readonly onSync: ((info: SyncInfo) => void) | undefined;
  private readonly reserveAhead: number;
  private handle: FileHandle;
  private segmentPath: string;
  private base: number;
  /** Highest value made durable: the durable file size (plus the segment's base). */
  private durable: number;
  /** Highest value handed out or asked for; durable or waiting for a round. */
  private promised: number;
  /** Calls waiting for the next sync. */
  private next: Round | undefined;
  /** Calls waiting for the sync in flight. */
  private inFlight: Round | undefined;
  private flushing: Promise<void> | undefined;
  private poisonError: ObeliskError | undefined;
  private closing: Promise<void> | undefined;

  private constructor(readonly path: string, seg: { handle: FileHandle; path: string; base: number; value: number }, o: ResolvedOptions) {
    this.fs = o.fs;
    this.maxFileSize = o.maxFileSize;
    this.onSync = o.onSync;
    this.reserveAhead = o.reserveAhead;
    this.dir = posix.dirname(path);
    this.name = posix.basename(path);
    this.handle = seg.handle;
    this.segmentPath = seg.path;
    this.base = seg.base;
    this.durable = seg.value;
    this.promised = seg.value;
  }

  /**
   * Open (or create) the counter at `path` and take exclusive ownership.
   * The value is read (`fstat`) only once the lock is held, then it and the
   * directory entry are made durable (`fdatasync`, directory `fsync`) before
   * the promise resolves: a value a dead process left in the page cache
   * survives a later power cut. Rejects `LOCKED` if another open counter owns it,
   * `INVALID_ARGUMENT` for bad options or a directory path, `IO` otherwise.
   */
  static async open(path: string, options?: ObeliskOptions): Promise<Obelisk> {
    if (typeof path !== 'string' || path === '') throw new ObeliskError('INVALID_ARGUMENT', 'path must be a non-empty string');
    const o = parseOptions(options);
    const seg = await openOwnedSegment(o.fs, path);
    return new Obelisk(path, seg, o);
  }

  /**
   * Highest durable value handed out (or handable) so far. Never decreases.
   * Without `reserveAhead` it is the durable file size; with it, the durable
   * size may be higher (values reserved ahead are not counted until handed out).
   */
  get value(): number {
    return Math.min(this.durable, this.promised);
  }

  /** True after a failed `ftruncate`/`fdatasync`: every call rejects `POISONED`; reopen to continue. */
  get poisoned(): boolean {
    return this.poisonError !== undefined;
  }

  /** True once `close` was called: every call rejects `CLOSED`. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Add `n` (a positive safe integer, default 1) and resolve the new value once
   * a size >= it is durable. Values handed out are unique and increasing.
   * Rejects `EXHAUSTED` if it would pass 2^53 - 1 (counter unchanged).
   */
  increment(n = 1): Promise<number> {
    const err = checkCount(n, 'increment') ?? this.stateError();
    if (err !== undefined) return Promise.reject(err);
    const v = this.promised + n;
    if (v > MAX_VALUE) return Promise.reject(exhausted(this.promised, n));
    this.promised = v;
    if (this.covers(v)) return Promise.resolve(v);
    return this.nextRound().add(v);
  }

  /**
   * Reserve `n` values: resolves `{ first, last }` (`last - first + 1 === n`)
   * once `last` is durable, so the caller may hand them out from memory.
   */
  reserve(n: number): Promise<Range> {
    const err = checkCount(n, 'reserve') ?? this.stateError();
    if (err !== undefined) return Promise.reject(err);
    const first = this.promised + 1;
    const last = this.promised + n;
    if (last > MAX_VALUE) return Promise.reject(exhausted(this.promised, n));
    this.promised = last;
    if (this.covers(last)) return Promise.resolve({ first, last });
    return this.nextRound().add({ first, last });
  }

  /**
   * Monotonic max: resolves the durable value once it is >= `v`. `v` below the
   * current value is refused (`INVALID_ARGUMENT`); the counter never lowers.
   * Later `increment`s return values above `v`.
   */
  advanceTo(v: number): Promise<number> {
    if (!Number.isSafeInteger(v) || v < 0) {
      return Promise.reject(new ObeliskError('INVALID_ARGUMENT', `advanceTo needs a non-negative safe integer, got ${String(v)}`));
    }
    const err = this.stateError();
    if (err !== undefined) return Promise.reject(err);
    const value = this.value;
    if (v < value) {
      return Promise.reject(new ObeliskError('INVALID_ARGUMENT', `advanceTo(${v}) would lower the counter from ${value}`));
    }
    if (v === value) return Promise.resolve(v);
    if (v > this.promised) this.promised = v;
    if (this.covers(v)) return Promise.resolve(this.value);
    return this.nextRound().add(undefined);
  }

  /**
   * Stop accepting calls (they reject `CLOSED`), let already queued calls finish
   * their sync, then close the file, which releases the lock. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.flushing;
    try {
      await this.handle.close();
    } catch (err) {
      // A poisoned counter already reported its failure; closing it is cleanup.
      if (this.poisonError === undefined) throw ioError('cannot close counter', this.segmentPath, err);
    }
  }

  private stateError(): ObeliskError | undefined {
    if (this.closing !== undefined) return new ObeliskError('CLOSED', `counter ${this.path} is closed`, { path: this.path });
    return this.poisonError;
  }

  /**
   * True if `v` may be released now: a size >= it is durable (only possible
   * with `reserveAhead`) and no earlier call still waits, so values still
   * come out in order. Starts a refill of the window when it runs low.
   */
  private covers(v: number): boolean {
    if (v > this.durable || this.next !== undefined || this.inFlight !== undefined) return false;
    if (this.refillDue()) this.flushing ??= this.flushLoop();
    return true;
  }

  /** The round the next sync releases; starts the writer loop if it is idle. */
  private nextRound(): Round {
    this.flushing ??= this.flushLoop();
    return (this.next ??= new Round());
  }

  /**
   * The only writer. Strictly sequential: each round takes every call queued
   * so far, grows the file once to the highest value asked for (plus
   * `reserveAhead`), syncs once, and releases the round. Calls arriving
   * meanwhile wait for the next round.
   */
  private async flushLoop(): Promise<void> {
    await null; // let calls made in the same tick join the first round
    try {
      while (this.poisonError === undefined) {
        const round = this.next;
        const target = this.target();
        if (round === undefined && target === this.durable) return;
        this.next = undefined;
        if (target > this.durable) {
          this.inFlight = round;
          const t0 = performance.now();
          try {
            await this.persist(target);
          } catch (err) {
            this.poison(err, round);
            return;
          }
          this.durable = target;
          this.inFlight = undefined;
          this.report({ ms: performance.now() - t0, waiters: round?.size ?? 0 });
        }
        round?.release(this.value);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** The value the next sync makes durable; `durable` when there is nothing to sync. */
  private target(): number {
    // A call waits on a value not durable yet (without reserveAhead, on every round).
    if (this.promised > this.durable) return Math.min(this.promised + this.reserveAhead, MAX_VALUE);
    if (this.next === undefined && this.closing === undefined && this.refillDue()) return Math.min(this.promised + this.reserveAhead, MAX_VALUE);
    return this.durable;
  }

  /** Less than half of the `reserveAhead` window is left (never with the default window of 0). */
  private refillDue(): boolean {
    return this.durable - this.promised < this.reserveAhead / 2 && this.durable < MAX_VALUE;
  }

  /**
   * Make `target` durable: one ftruncate then one fdatasync, or a rollover.
   * The ftruncate never shrinks the file: its size was read under the lock at
   * open (that is `durable`), and only this loop has grown it since.
   */
  private async persist(target: number): Promise<void> {
    const size = target - this.base;
    if (size > this.maxFileSize) return this.rollover(target);
    if (target <= this.durable) throw shrinkRefused(this.segmentPath, size, this.durable - this.base);
    await this.handle.truncate(size);
    await this.handle.datasync();
  }

  /**
   * Continue in a new segment `name.seg-<target>` (value = target + 0). It is
   * created, locked, synced and its directory entry fsynced before the old
   * segment is removed, so a crash at any step leaves a segment holding the
   * larger value, which open picks.
   */
  private async rollover(target: number): Promise<void> {
    const path = posix.join(this.dir, segmentName(this.name, target));
    const h = await this.fs.open(path, { create: true });
    try {
      if (!(await h.tryLock())) throw new ObeliskError('LOCKED', `new segment ${path} is locked by another opener`);
      // A file already there holds a value this counter never made: growing it
      // from our base could shrink it. Stop (poison); reopening picks it up.
      const found = await h.size();
      if (found > 0) throw shrinkRefused(path, 0, found);
      await h.datasync();
      await this.fs.syncDir(this.dir);
    } catch (err) {
      await h.close().catch(() => {});
      throw err;
    }
    const old = this.handle;
    const oldPath = this.segmentPath;
    this.handle = h;
    this.segmentPath = path;
    this.base = target;
    // Cleanup only: a leftover old segment holds a smaller value and the next open removes it.
    await this.fs.unlink(oldPath).then(() => this.fs.syncDir(this.dir)).catch(() => {});
    await old.close().catch(() => {});
  }

  /** Reject the round in flight and the next one, and every later call. */
  private poison(cause: unknown, round: Round | undefined): void {
    const code = errnoCode(cause) ?? (cause instanceof ObeliskError ? cause.code : 'error');
    this.poisonError = new ObeliskError(
      'POISONED',
      `counter ${this.path} is poisoned: ${code} while making ${this.promised} durable; durable value stays ${this.durable}; reopen it`,
      { cause, path: this.path },
    );
    const next = this.next;
    this.inFlight = undefined;
    this.next = undefined;
    round?.fail(this.poisonError);
    next?.fail(this.poisonError);
  }

  private report(info: SyncInfo): void {
    if (this.onSync === undefined) return;
    try {
      this.onSync(info);
    } catch {
      /* a metrics hook must not break the counter */
    }
  }
}

function checkCount(n: number, what: string): ObeliskError | undefined {
  if (Number.isSafeInteger(n) && n >= 1) return undefined;
  return new ObeliskError('INVALID_ARGUMENT', `${what} needs a positive safe integer, got ${String(n)}`);
}

/** The guard of every ftruncate: the file never gets smaller. Thrown in the flush loop, it poisons the counter. */
function shrinkRefused(path: string, size: number, floor: number): Error {
  return Object.assign(new Error(`refusing to shrink ${path} to ${size}: it already holds ${floor}`), { code: 'ESHRINK' });
}

function exhausted(current: number, n: number): ObeliskError {
  return new ObeliskError('EXHAUSTED', `cannot add ${n} to ${current}: values stop at 2^53 - 1 (${MAX_VALUE})`);
}
