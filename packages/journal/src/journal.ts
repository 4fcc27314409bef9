import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureDirDurable, errnoCode, openLocked, processView, unlinkIfExists, type FileHandle, type FileSystem } from '@pharaoh/storage';
import { encodeFrame, FRAME_OVERHEAD, HEADER } from './codec.js';
import { JournalError, JournalErrorCode } from './errors.js';
import { parseJournalOptions, type JournalOptions, type ParsedJournalOptions } from './options.js';
import { checkExists, COMPACT_NAME, LOCK_NAME, publishTemp, recover, writeDurableTemp } from './recovery.js';

export interface JournalStats {
  /** Records accepted by append/appendMany since open. */
  appends: number;
  /** Group-commit fdatasyncs completed since open. */
  syncs: number;
  compactions: number;
  /** Records replayed by open. */
  recoveredRecords: number;
  /** Bytes of torn or corrupt tail cut off by open. */
  truncatedBytes: number;
}

interface Pending {
  frames: Buffer[];
  resolve: () => void;
  reject: (err: Error) => void;
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * An append-only, checksummed record log for one shard's coordinator state.
 *
 * Invariants:
 * - a record is durable (written and fdatasync'd) before its `append` resolves;
 * - records are written in the order `append`/`appendMany` was called, and
 *   replay delivers them in that order; a record is replayed whole or not at all;
 * - every record replayed at open is durable before the first one is
 *   delivered to `onRecord` (a process that died before its fdatasync
 *   returned leaves records in the page cache only; once served, they must
 *   survive a power cut), and so are the log's and the directory's entries;
 * - one write + one fdatasync is in flight at a time; everything queued while
 *   it runs shares the next one (group commit);
 * - after a failed write, fdatasync or directory fsync the journal is poisoned:
 *   every waiter and every later call rejects with `JOURNAL_POISONED`. Reopen.
 */
export class Journal<R> {
  private queue: Pending[] = [];
  /** Appends made while a compaction runs: written to the new log once it is published. */
  private held: Pending[] = [];
  private flushing = false;
  private flushScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private compacting: Promise<void> | undefined;
  private failure: JournalError | undefined;
  private closing: Promise<void> | undefined;
  private nextCompactAt: number;
  readonly stats: JournalStats;

  private constructor(
    private readonly dir: string,
    private readonly o: ParsedJournalOptions<R>,
    /** This process's view of the file system, taken once at open. */
    private readonly fs: FileSystem,
    private readonly lock: FileHandle,
    private file: FileHandle,
    private size: number,
    recovered: { records: number; truncatedBytes: number },
  ) {
    this.nextCompactAt = o.compactAtBytes;
    this.stats = { appends: 0, syncs: 0, compactions: 0, recoveredRecords: recovered.records, truncatedBytes: recovered.truncatedBytes };
  }

  /**
   * Open (creating if needed) the journal in directory `dir`, replay every
   * intact record into `onRecord` in order, and durably cut off a torn or
   * corrupt tail. Takes an exclusive lock on the directory (`JOURNAL_LOCKED`).
   *
   * Durable when it resolves: the directory's entry in its parent, the log's
   * entry, and every replayed record (made durable before the first one is
   * delivered). With `mustExist`, a missing directory or log, or a log shorter
   * than its header, is refused with `JOURNAL_MISSING` before anything is
   * created or written.
   */
  static async open<R>(dir: string, options: JournalOptions<R>): Promise<Journal<R>> {
    const o = parseJournalOptions(options);
    const fs = processView(o.fs);
    // A journal that must exist was opened completely before, and that open made
    // its directory's entry durable. Otherwise: also fsyncs the parent when `dir`
    // exists (an earlier process may have died between its mkdir and that fsync).
    if (o.mustExist) await checkExists(fs, dir);
    else await ensureDirDurable(fs, dir);
    const lock = await openLocked(fs, join(dir, LOCK_NAME));
    if (!lock) throw new JournalError(JournalErrorCode.LOCKED, `journal ${dir} is open elsewhere`);
    try {
      const r = await recover(fs, dir, { maxRecordBytes: o.maxRecordBytes, mustExist: o.mustExist, onRecord: o.onRecord as (rec: unknown) => void, logger: o.logger });
      const j = new Journal<R>(dir, o, fs, lock, r.file, r.size, r);
      if (o.rewrite) {
        try {
          await j.compact();
        } catch (err) {
          await j.close().catch(() => undefined);
          throw err;
        }
      } else j.maybeCompact();
      return j;
    } catch (err) {
      await lock.close().catch(() => undefined);
      throw err;
    }
  }

  /** Bytes in the log file (header and every record written so far). */
  get sizeBytes(): number {
    return this.size;
  }

  /** The error that poisoned the journal, if any. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Append one record; resolves once it is durable. See {@link appendMany}. */
  append(rec: R): Promise<void> {
    return this.appendMany([rec]);
  }

  /**
   * Append records in order; resolves once all are durable (fdatasync'd),
   * sharing the fdatasync with concurrent callers. Not a transaction: after a
   * crash before it resolves, any prefix of `recs` may survive. A record that
   * cannot be encoded or exceeds `maxRecordBytes` rejects the whole call and
   * nothing is written.
   */
  appendMany(recs: readonly R[]): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    let frames: Buffer[];
    try {
      frames = recs.map((r) => this.encode(r));
    } catch (err) {
      return Promise.reject(err);
    }
    if (frames.length === 0) return Promise.resolve();
    this.stats.appends += frames.length;
    return new Promise<void>((resolve, reject) => {
      (this.compacting ? this.held : this.queue).push({ frames, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Rewrite the log as `snapshot()` and publish it atomically (write new file,
   * fdatasync, rename over the log, fsync the directory). Appends made
   * meanwhile are held and written after the snapshot once it is published;
   * none is lost. A crash at any step leaves either the old or the new log,
   * each complete. A failure before the rename leaves the old log in use
   * (`JOURNAL_COMPACTION_FAILED`); at or after it, the journal is poisoned.
   */
  compact(): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    this.compacting ??= this.runCompaction().finally(() => {
      this.compacting = undefined;
      this.queue.push(...this.held);
      this.held = [];
      this.scheduleFlush();
    });
    return this.compacting;
  }

  /** Finish every append already made (durably), then close the file and release the lock. */
  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private refusal(): JournalError | undefined {
    if (this.failure) return this.failure;
    if (this.closing) return new JournalError(JournalErrorCode.CLOSED, `journal ${this.dir} is closed`);
    return undefined;
  }

  private encode(rec: R): Buffer {
    let frame: Buffer;
    try {
      frame = encodeFrame(rec);
    } catch (err) {
      throw new JournalError(JournalErrorCode.BAD_RECORD, 'record cannot be encoded as msgpack', { cause: err });
    }
    const payload = frame.length - FRAME_OVERHEAD;
    if (payload > this.o.maxRecordBytes) {
      throw new JournalError(JournalErrorCode.RECORD_TOO_LARGE, `record of ${payload} bytes exceeds maxRecordBytes ${this.o.maxRecordBytes}`);
    }
    return frame;
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled || this.queue.length === 0) return;
    this.flushScheduled = true;
    // A microtask, so appends made in the same synchronous burst share the first sync.
    queueMicrotask(() => {
      this.flushScheduled = false;
      void this.flushLoop();
    });
  }

  /** The group-commit loop: one write + one fdatasync at a time, each covering everything queued. */
  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        this.queue = [];
        await this.writeBatch(batch);
      }
    } finally {
      this.flushing = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
    this.maybeCompact();
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const frames = batch.length === 1 ? batch[0]!.frames : batch.flatMap((p) => p.frames);
    const buf = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    const t0 = performance.now();
    try {
      await this.file.write(buf, this.size);
      this.size += buf.length;
      await this.file.datasync();
    } catch (err) {
      this.poison(err, 'write/fdatasync', batch);
      return;
    }
    this.stats.syncs++;
    if (this.o.onSync) {
      try {
        this.o.onSync({ ms: performance.now() - t0, records: frames.length });
      } catch {
        // A metrics hook must not break durability bookkeeping.
      }
    }
    for (const p of batch) p.resolve();
  }

  private whenFlushIdle(): Promise<void> {
    if (!this.flushing && !this.flushScheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => this.whenFlushIdle());
  }

  private maybeCompact(): void {
    if (this.failure || this.closing || this.compacting || this.size < this.nextCompactAt) return;
    this.compact().catch((err: unknown) => {
      this.o.logger.warn({ err, dir: this.dir }, 'journal: automatic compaction failed');
    });
  }

  private async runCompaction(): Promise<void> {
    // Everything queued before compaction began goes to the old log first...
    await this.whenFlushIdle();
    // ...and code awaiting those appends runs before the snapshot is taken.
    await nextMacrotask();
    if (this.failure) throw this.failure;
    const t0 = performance.now();
    const before = this.size;
    const contents = this.snapshotContents();
    let tmp: FileHandle;
    try {
      tmp = await writeDurableTemp(this.fs, this.dir, contents);
    } catch (err) {
      return this.abandonCompaction(err);
    }
    try {
      await publishTemp(this.fs, this.dir);
    } catch (err) {
      await tmp.close().catch(() => undefined);
      throw this.poison(err, 'compaction rename/directory fsync', []);
    }
    const old = this.file;
    this.file = tmp;
    this.size = contents.length;
    await old.close().catch(() => undefined);
    this.stats.compactions++;
    // Next trigger at least twice the live state, so a large live state does
    // not cause back-to-back rewrites (amortised O(1) rewrite per byte appended).
    this.nextCompactAt = Math.max(this.o.compactAtBytes, 2 * this.size);
    this.o.logger.info({ dir: this.dir, beforeBytes: before, afterBytes: this.size, ms: performance.now() - t0 }, 'journal: compacted');
  }

  private snapshotContents(): Buffer {
    let frames: Buffer[];
    try {
      frames = this.o.snapshot().map((r) => this.encode(r));
    } catch (err) {
      throw new JournalError(JournalErrorCode.COMPACTION_FAILED, 'snapshot() failed or returned an unencodable record', { cause: err });
    }
    return Buffer.concat([HEADER, ...frames]);
  }

  private async abandonCompaction(err: unknown): Promise<never> {
    // The old log was not touched: keep using it, retry only after it doubles.
    await unlinkIfExists(this.fs, join(this.dir, COMPACT_NAME)).catch(() => undefined);
    this.nextCompactAt = Math.max(this.nextCompactAt, 2 * this.size);
    throw new JournalError(JournalErrorCode.COMPACTION_FAILED, `compaction failed (${errnoCode(err) ?? 'error'}); the old log stays in use`, { cause: err });
  }

  /** Enter the failed state: reject `batch`, the queue and held appends; refuse everything later. */
  private poison(err: unknown, what: string, batch: Pending[]): JournalError {
    if (!this.failure) {
      this.failure = new JournalError(JournalErrorCode.POISONED, `journal ${this.dir} poisoned: ${what} failed (${errnoCode(err) ?? 'error'})`, { cause: err });
      this.o.logger.warn({ err, dir: this.dir }, 'journal: poisoned');
    }
    const failure = this.failure;
    for (const p of [...batch, ...this.queue.splice(0), ...this.held.splice(0)]) p.reject(failure);
    return failure;
  }

  private async runClose(): Promise<void> {
    await this.compacting?.catch(() => undefined);
    await this.whenFlushIdle();
    await this.file.close().catch(() => undefined);
    await this.lock.close().catch(() => undefined);
  }
}
