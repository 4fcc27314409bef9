/**
 * The transaction table of one txcoord shard: who is ACTIVE, what was decided,
 * and what a txId we no longer hold means. Pure domain logic: the clock, the ID
 * generator and the journal are injected, so tests drive it with a fake clock
 * and a crash-simulating journal.
 *
 * Durability model (presumed abort):
 * - begins live in memory only; a crash loses them, and they count as aborted;
 * - commit and abort decisions are appended to the journal, and a decision is
 *   visible (and acknowledged) only after its record is durable;
 * - an unknown txId of this shard below an ID drawn at start (`floor`) was
 *   begun by an earlier incarnation and never committed, so it
 *   is ABORTED — unless its time lies below the forgetting watermark, where a
 *   decision may have been dropped after retention: then it is UNKNOWN and a
 *   commit answers TX_NOT_FOUND (never commits);
 * - after a restore from a backup, an undecided txId whose time lies below the
 *   restore's `inDoubtBeforeMs` may have been committed or aborted after the
 *   backup: it is IN_DOUBT (never presumed aborted), and commit, abort and
 *   heartbeat answer TX_IN_DOUBT, until retention forgets it (UNKNOWN);
 * - a graceful shard move keeps the open transactions (closeForMove): once
 *   the table is closed, they are journaled as a carry (CarryRecord), and an
 *   open whose journal ENDS with a complete carry makes them ACTIVE again,
 *   each with the time it had left at the release. Nothing was decided after
 *   a carry that is still the last record, so no answer contradicts it; any
 *   later record voids it (a crash after that aborts them, as always).
 */
import type { ServiceResult, TXCOORD, TxStatus } from '@pharaoh/registry';
import type { JournalHooks, TableJournal } from '@pharaoh/server';
import {
  resolveAbortWithTs,
  resolveForeignTs,
  resolveNeedsCommitTs,
  resolveOtherTs,
  tableClosed,
  tooManyOpen,
  txAborted,
  txCommitted,
  txInDoubt,
  txNotFound,
  txNotInDoubt,
} from './errors.js';
import type { TxTableOptions } from './options.js';
import { CARRY_CHUNK, parseTxRecord, type CarryRecord, type TxRecord } from './records.js';

/** The part of @pharaoh/snowflake's IdGenerator the table uses. */
export interface TxIdSource {
  next(after?: bigint): Promise<bigint>;
  nextRange(n: number, after?: bigint): Promise<{ first: bigint; count: number }>;
}

/** The part of a Layout the table uses (time field of an ID, unit of an instant). */
export interface TxLayout {
  timeOf(id: bigint): number;
  shardOf(id: bigint): number;
  unitAt(ms: number): number;
}

type Result<O extends keyof (typeof TXCOORD)['ops']> = ServiceResult<typeof TXCOORD, O>;

export type TxJournal = TableJournal<TxRecord>;
export type TxJournalHooks = JournalHooks<TxRecord>;

export interface TxTableDeps {
  ids: TxIdSource;
  layout: TxLayout;
  clock: { now(): number };
  /** Open the journal; it replays through `hooks.onRecord` before resolving. */
  openJournal(hooks: TxJournalHooks): Promise<TxJournal>;
  /**
   * Set when the shard was restored from a backup: the instant (ms since 1970)
   * below which every txId of the lost process lies (RestoreMark.issuedBeforeMs).
   * An undecided txId below it may have been decided after the backup: IN_DOUBT.
   */
  inDoubtBeforeMs?: number;
}

interface Active {
  timeoutMs: number;
  deadline: number;
}

interface Decision {
  /** undefined = aborted */
  commitTs: bigint | undefined;
  /** wall-clock ms when decided */
  at: number;
}

/** The carry at the end of the journal (see CarryRecord): its transactions, and the chunk expected next. */
interface TailCarry {
  txs: Array<[bigint, number, number]>;
  next: number;
  n: number;
}

/** Retries of the "wait for an in-flight decision, then look again" loop; one is enough, the rest is slack. */
const MAX_LOOKUPS = 4;

export class TxTable {
  private journal: TxJournal | undefined;
  private readonly active = new Map<bigint, Active>();
  /** Decisions being journaled: at most one per txId, so a tx is never decided twice. */
  private readonly pending = new Map<bigint, Promise<void>>();
  /** Durable decisions, in the order they were made (oldest first, for forgetting). */
  private readonly decided = new Map<bigint, Decision>();
  /** Begins between the capacity check and the ID arriving: they count as open. */
  private beginning = 0;
  /**
   * An ID drawn from the generator at open: every txId of an earlier
   * incarnation is below it, every txId of this one above it.
   */
  private floor = 0n;
  /** Decisions about txIds whose time field is below this may have been forgotten. */
  private forgetBeforeUnit = Number.MIN_SAFE_INTEGER;
  /** Restored shard: undecided txIds whose time field is below this are IN_DOUBT (see TxTableDeps.inDoubtBeforeMs). */
  private readonly doubtBeforeUnit: number;
  private closed = false;
  /**
   * The carry the journal ends with, if it does (see CarryRecord): cleared by
   * any other record, kept by compaction (at the snapshot's end).
   */
  private tailCarry: TailCarry | undefined;

  private constructor(
    private readonly deps: TxTableDeps,
    readonly options: TxTableOptions,
  ) {
    this.doubtBeforeUnit = deps.inDoubtBeforeMs === undefined ? Number.MIN_SAFE_INTEGER : deps.layout.unitAt(deps.inDoubtBeforeMs);
  }

  /**
   * Open the journal, replay every durable decision, draw the presumed-abort
   * floor from the generator (one ID, never handed out), then forget what is
   * past retention.
   */
  static async open(deps: TxTableDeps, options: TxTableOptions): Promise<TxTable> {
    const table = new TxTable(deps, options);
    table.journal = await deps.openJournal({
      onRecord: (raw) => table.apply(parseTxRecord(raw)),
      snapshot: () => table.snapshot(),
    });
    table.reopenCarried();
    table.floor = await deps.ids.next();
    table.sweepForget(deps.clock.now());
    return table;
  }

  /**
   * The journal ends with a complete carry: a graceful move released the
   * shard with these transactions open, and nothing was decided since. Open
   * them again until now + the time each had left at the release: the
   * remainder restarts on this host's clock, so clock skew between the hosts
   * neither aborts them at once nor stretches them. (A decision wins; a txId
   * of a restored shard's lost process stays IN_DOUBT.)
   */
  private reopenCarried(): void {
    const c = this.tailCarry;
    if (c === undefined || c.next !== c.n) return;
    const now = this.deps.clock.now();
    for (const [txId, timeoutMs, leftMs] of c.txs) {
      if (this.decided.has(txId) || this.inDoubt(txId)) continue;
      this.active.set(txId, { timeoutMs, deadline: now + Math.min(leftMs, timeoutMs) });
    }
  }

  /**
   * Close for a graceful shard move (the host's releaseShard): stop taking
   * requests, wait for decisions in flight, then journal the open
   * transactions (durably, before this resolves) as a carry the next open
   * reopens, then close the journal. Each carries its timeout and the time it
   * has left; one already past its deadline is left out (it timed out:
   * presumed aborted). With none open, an empty carry is still written if the
   * journal ends with an older one, so that one is not reopened.
   */
  async closeForMove(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending.values()]);
    try {
      const journal = this.journal;
      if (journal === undefined) return;
      const now = this.deps.clock.now();
      const open: Array<[bigint, number, number]> = [];
      for (const [txId, a] of this.active) {
        const leftMs = Math.ceil(a.deadline - now);
        if (leftMs > 0) open.push([txId, a.timeoutMs, leftMs]);
      }
      if (open.length === 0 && this.tailCarry === undefined) return;
      const n = Math.max(1, Math.ceil(open.length / CARRY_CHUNK));
      const recs: CarryRecord[] = [];
      for (let i = 0; i < n; i++) recs.push({ t: 'o', i, n, x: open.slice(i * CARRY_CHUNK, (i + 1) * CARRY_CHUNK) });
      // Applied first, so a compaction the appends trigger keeps the carry (at its snapshot's
      // end); appended in order (one flush batches them), each resolving once durable.
      for (const r of recs) this.apply(r);
      await Promise.all(recs.map((r) => journal.append(r)));
    } finally {
      await this.journal?.close();
    }
  }

  /** Sizes, for metrics and tests. */
  get stats(): { active: number; pending: number; remembered: number } {
    return { active: this.active.size + this.beginning, pending: this.pending.size, remembered: this.decided.size };
  }

  /**
   * Start a transaction. `txId` and `startTs` are two distinct IDs from this
   * shard's TX-layout generator, both above every ID it issued before (also
   * before a crash) and above `after`. Nothing is journaled: a crash before the
   * decision aborts it. Throws OVERLOADED at `maxOpen` undecided transactions.
   */
  async begin(timeoutMs?: number, after?: bigint): Promise<Result<'tx.begin'>> {
    this.checkOpen();
    if (this.active.size + this.beginning >= this.options.maxOpen) throw tooManyOpen(this.options.maxOpen);
    const timeout = timeoutMs ?? this.options.defaultTimeoutMs;
    this.beginning++;
    let txId: bigint;
    let startTs: bigint;
    try {
      const range = await this.deps.ids.nextRange(2, after);
      txId = range.first;
      startTs = range.count >= 2 ? range.first + 1n : await this.deps.ids.next(range.first);
    } finally {
      this.beginning--;
    }
    // Closed while the IDs were drawn: a move may have carried the open transactions already,
    // without this one. Refused (SHARD_UNAVAILABLE: the client begins again), never open unseen.
    if (this.closed) throw tableClosed();
    this.active.set(txId, { timeoutMs: timeout, deadline: this.deps.clock.now() + timeout });
    return { txId, startTs, timeoutMs: timeout };
  }

  /**
   * Commit. Resolves with the commitTs once the commit record is durable; the
   * same commitTs again for a committed tx (idempotent). TX_ABORTED if it was
   * aborted (explicitly, by timeout — checked here too — or presumed after a
   * restart); TX_NOT_FOUND if unknown.
   */
  async commit(txId: bigint): Promise<Result<'tx.commit'>> {
    return this.settle(
      txId,
      (d, a) => {
        if (d) {
          if (d.commitTs === undefined) throw txAborted(txId, 'decided earlier');
          return { commitTs: d.commitTs };
        }
        if (!a) {
          if (this.inDoubt(txId)) throw txInDoubt(txId);
          if (this.presumedAborted(txId)) throw txAborted(txId, 'undecided when the coordinator restarted');
          throw txNotFound(txId);
        }
        if (a.deadline <= this.deps.clock.now()) return this.decideThenThrow(txId, txAborted(txId, 'timed out'));
        return this.decide(txId, true);
      },
      () => this.lookupAfterDecision(txId),
    );
  }

  /**
   * Abort. Resolves once the abort record is durable (or at once if already
   * aborted: idempotent). TX_COMMITTED if it was committed, TX_NOT_FOUND if unknown.
   */
  async abort(txId: bigint): Promise<Result<'tx.abort'>> {
    return this.settle(txId, (d, a) => {
      if (d) {
        if (d.commitTs !== undefined) throw txCommitted(txId);
        return {};
      }
      if (!a) {
        if (this.inDoubt(txId)) throw txInDoubt(txId);
        if (this.presumedAborted(txId)) return {};
        throw txNotFound(txId);
      }
      return this.decide(txId, false);
    });
  }

  /** Status; an ACTIVE tx past its deadline is aborted (durably) first. */
  async status(txId: bigint): Promise<TxStatus> {
    return this.settle(txId, (d, a): TxStatus | Promise<void> => {
      if (d) return d.commitTs === undefined ? 'ABORTED' : 'COMMITTED';
      if (!a) return this.inDoubt(txId) ? 'IN_DOUBT' : this.presumedAborted(txId) ? 'ABORTED' : 'UNKNOWN';
      if (a.deadline > this.deps.clock.now()) return 'ACTIVE';
      return this.decide(txId, false);
    });
  }

  /** Extend an ACTIVE tx's deadline to now + its timeout. TX_ABORTED / TX_COMMITTED / TX_NOT_FOUND otherwise. */
  async heartbeat(txId: bigint): Promise<Result<'tx.heartbeat'>> {
    return this.settle(txId, (d, a) => {
      if (d) throw d.commitTs === undefined ? txAborted(txId, 'decided earlier') : txCommitted(txId);
      if (!a) {
        if (this.inDoubt(txId)) throw txInDoubt(txId);
        if (this.presumedAborted(txId)) throw txAborted(txId, 'undecided when the coordinator restarted');
        throw txNotFound(txId);
      }
      const now = this.deps.clock.now();
      if (a.deadline <= now) return this.decideThenThrow(txId, txAborted(txId, 'timed out'));
      a.deadline = now + a.timeoutMs;
      return { timeoutMs: a.timeoutMs };
    });
  }

  /**
   * Record an operator's resolution of an IN_DOUBT transaction (the outcome
   * its participants recorded; a commit with the commitTs they saw), durably
   * before answering; from then on it answers like any decided transaction.
   * Idempotent: resolving a decided transaction the same way again answers its
   * status; the other way answers TX_COMMITTED / TX_ABORTED. A transaction
   * that is not in doubt (ACTIVE, presumed aborted, unknown) answers
   * TX_NOT_IN_DOUBT: tx.commit / tx.abort decide live ones.
   */
  async resolve(txId: bigint, commit: boolean, commitTs: bigint | undefined): Promise<TxStatus> {
    if (commit && commitTs === undefined) throw resolveNeedsCommitTs(txId);
    if (!commit && commitTs !== undefined) throw resolveAbortWithTs(txId);
    const layout = this.deps.layout;
    if (commitTs !== undefined && layout.shardOf(commitTs) !== layout.shardOf(txId)) throw resolveForeignTs(txId, commitTs, layout.shardOf(txId));
    return this.settle(txId, (d, a): TxStatus | Promise<void> => {
      if (d) {
        if (d.commitTs === undefined) {
          if (commit) throw txAborted(txId, 'decided earlier');
          return 'ABORTED';
        }
        if (!commit) throw txCommitted(txId);
        if (d.commitTs !== commitTs) throw resolveOtherTs(txId, d.commitTs);
        return 'COMMITTED';
      }
      if (a || !this.inDoubt(txId)) throw txNotInDoubt(txId, a ? 'ACTIVE' : this.presumedAborted(txId) ? 'ABORTED' : 'UNKNOWN');
      return this.record(txId, commit ? { t: 'c', id: txId, ts: commitTs!, at: this.deps.clock.now() } : { t: 'a', id: txId, at: this.deps.clock.now() });
    });
  }

  /** Append a decision made elsewhere (a resolution) and apply it once durable; requests about `txId` wait for it. */
  private record(txId: bigint, rec: TxRecord): Promise<void> {
    const run = async (): Promise<void> => {
      await this.checkOpen().append(rec);
      this.apply(rec);
    };
    const done = run().finally(() => this.pending.delete(txId));
    this.pending.set(txId, done);
    return done;
  }

  /**
   * The loop every request about one txId runs: wait out a decision about it
   * in flight, then `look` at its durable decision and its ACTIVE entry.
   * `look` runs synchronously right after that check, so what it reads cannot
   * change under it (an await in between would let a decision start unseen).
   * It returns the answer, or the promise of a decision it started, after
   * which the state is looked at again; it throws (or that promise rejects)
   * to fail the request. `exhausted` answers if the state kept changing.
   */
  private async settle<T>(
    txId: bigint,
    look: (d: Decision | undefined, a: Active | undefined) => T | Promise<void>,
    exhausted: () => Promise<T> = () => Promise.reject(this.stuck(txId)),
  ): Promise<T> {
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const inFlight = this.pending.get(txId);
      if (inFlight) {
        await inFlight;
        continue;
      }
      const r = look(this.decided.get(txId), this.active.get(txId));
      if (!(r instanceof Promise)) return r;
      await r;
    }
    return exhausted();
  }

  /** Decide `txId` aborted (durably), then fail the request with `err`. */
  private async decideThenThrow(txId: bigint, err: Error): Promise<never> {
    await this.decide(txId, false);
    throw err;
  }

  /**
   * Abort every ACTIVE tx past its deadline (durably, before this resolves) and
   * forget decisions past retention. Called by a timer; safe to call any time.
   */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    const expired: bigint[] = [];
    for (const [txId, a] of this.active) if (a.deadline <= now) expired.push(txId);
    await Promise.all(expired.map((txId) => this.decide(txId, false)));
    this.sweepForget(now);
    return expired.length;
  }

  /** Stop taking requests, wait for decisions in flight, close the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending.values()]);
    await this.journal?.close();
  }

  /**
   * The live state as records: replaying them rebuilds `decided`, the
   * watermark and a carry the journal ends with (still last: open
   * transactions are not journaled otherwise).
   */
  snapshot(): TxRecord[] {
    const out: TxRecord[] = [{ t: 'f', u: this.forgetBeforeUnit }];
    for (const [id, d] of this.decided) {
      out.push(d.commitTs === undefined ? { t: 'a', id, at: d.at } : { t: 'c', id, ts: d.commitTs, at: d.at });
    }
    const c = this.tailCarry;
    if (c !== undefined && c.next === c.n) {
      const n = Math.max(1, Math.ceil(c.txs.length / CARRY_CHUNK));
      for (let i = 0; i < n; i++) out.push({ t: 'o', i, n, x: c.txs.slice(i * CARRY_CHUNK, (i + 1) * CARRY_CHUNK) });
    }
    return out;
  }

  /** Apply a durable record (replay, or after append). The first decision about a txId wins. */
  private apply(rec: TxRecord): void {
    if (rec.t === 'o') {
      // Chunk 0 starts a carry; the next chunk in order extends it; anything else voids it.
      const c = this.tailCarry;
      if (rec.i === 0) this.tailCarry = { txs: [...rec.x], next: 1, n: rec.n };
      else if (c !== undefined && c.next === rec.i && c.n === rec.n) {
        c.txs.push(...rec.x);
        c.next++;
      } else this.tailCarry = undefined;
      return;
    }
    // Any other record after a carry voids it (see CarryRecord).
    this.tailCarry = undefined;
    if (rec.t === 'f') {
      this.forgetBeforeUnit = Math.max(this.forgetBeforeUnit, rec.u);
      return;
    }
    if (this.decided.has(rec.id)) return;
    this.decided.set(rec.id, { commitTs: rec.t === 'c' ? rec.ts : undefined, at: rec.at });
    this.active.delete(rec.id);
    if (this.decided.size > this.options.maxRemembered) this.evictOldest();
  }

  /**
   * Decide `txId` (which must be ACTIVE): take it out of `active`, draw a
   * commitTs if committing, append the record and apply it once durable.
   * Concurrent requests about the same tx wait for this via `pending`.
   */
  private decide(txId: bigint, commit: boolean): Promise<void> {
    const existing = this.pending.get(txId);
    if (existing) return existing;
    this.active.delete(txId);
    const run = async (): Promise<void> => {
      const journal = this.checkOpen();
      const at = this.deps.clock.now();
      const rec: TxRecord = commit ? { t: 'c', id: txId, ts: await this.deps.ids.next(), at } : { t: 'a', id: txId, at };
      await journal.append(rec);
      this.apply(rec);
    };
    const done = run().finally(() => this.pending.delete(txId));
    this.pending.set(txId, done);
    return done;
  }

  private async lookupAfterDecision(txId: bigint): Promise<Result<'tx.commit'>> {
    await this.pending.get(txId);
    const d = this.decided.get(txId);
    if (d?.commitTs !== undefined) return { commitTs: d.commitTs };
    if (d) throw txAborted(txId, 'decided earlier');
    throw this.stuck(txId);
  }

  /**
   * Unknown txId below the floor and not in the forgotten range: begun by an
   * earlier incarnation (or never issued) and not committed → aborted. Above the
   * floor it was never issued (yet): UNKNOWN, so a later begin of it is no contradiction.
   */
  private inDoubt(txId: bigint): boolean {
    const t = this.deps.layout.timeOf(txId);
    return t < this.doubtBeforeUnit && t >= this.forgetBeforeUnit;
  }

  private presumedAborted(txId: bigint): boolean {
    if (this.deps.layout.timeOf(txId) < this.forgetBeforeUnit) return false;
    return txId < this.floor;
  }

  /** Move the watermark up to now − retention, then drop decisions older than that. */
  private sweepForget(now: number): void {
    const cutoff = now - this.options.retentionMs;
    this.forgetBeforeUnit = Math.max(this.forgetBeforeUnit, this.deps.layout.unitAt(cutoff));
    for (const [txId, d] of this.decided) {
      if (d.at > cutoff) break; // oldest first: the rest are younger (a clock step back only delays forgetting)
      if (this.deps.layout.timeOf(txId) < this.forgetBeforeUnit) this.decided.delete(txId);
    }
  }

  /** Over `maxRemembered`: forget the oldest decision early, raising the watermark above it. */
  private evictOldest(): void {
    const first = this.decided.keys().next();
    if (first.done) return;
    this.forgetBeforeUnit = Math.max(this.forgetBeforeUnit, this.deps.layout.timeOf(first.value) + 1);
    this.decided.delete(first.value);
  }

  private checkOpen(): TxJournal {
    if (this.closed || !this.journal) throw tableClosed();
    return this.journal;
  }

  private stuck(txId: bigint): Error {
    return new Error(`transaction ${txId}: state kept changing while deciding (bug)`);
  }
}
