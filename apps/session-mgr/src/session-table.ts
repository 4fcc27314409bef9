/**
 * The session table of one session-mgr shard (Kafka's InitProducerId model).
 * Pure domain logic over an injected clock, ID generator, journal, layout and
 * restore facts.
 *
 * Epochs (src/epochs.ts): a new session starts at epoch 0 (its sessionId is a
 * fresh time-based ID); a reopen takes max(previous + 1, seconds since the
 * layout's epoch, the restore's epoch floor) and is refused (OVERLOADED) when
 * previous + 1 would run more than MAX_EPOCH_LEAD_S ahead of the clock. So
 * epochs of a session strictly increase, are not consecutive, and a restored
 * older journal cannot hand one out again.
 *
 * Durability: every open (new session or a higher epoch), close and expiry is
 * journaled, and answered only once durable; heartbeats are not (deadlines
 * live in memory). So after a crash every acknowledged epoch is intact and
 * every fenced epoch stays fenced; sessions that were live get a fresh timeout
 * (a coordinator restart does not expire every producer at once).
 */
import { shardForKey } from '@pharaoh/protocol';
import type { ServiceResult, SESSION_MGR, SessionStatus } from '@pharaoh/registry';
import type { JournalHooks, TableJournal } from '@pharaoh/server';
import { MAX_EPOCH, MAX_EPOCH_LEAD_S, SessionEpochs, type EpochLayout, type EpochRestore } from './epochs.js';
import {
  epochsTooFarAhead,
  sessionExpired,
  sessionFenced,
  sessionFencedByRestore,
  sessionUnknown,
  tableClosed,
  tooManySessions,
  wrongShard,
} from './errors.js';
import type { SessionTableOptions } from './options.js';
import { parseSessionRecord, type SessionRecord } from './records.js';
import { SessionStore, type Session } from './session-state.js';

/** The part of @pharaoh/snowflake's IdGenerator the table uses. */
export interface SessionIdSource {
  next(after?: bigint): Promise<bigint>;
}

export type SessionJournal = TableJournal<SessionRecord>;
export type SessionJournalHooks = JournalHooks<SessionRecord>;
type Result<O extends keyof (typeof SESSION_MGR)['ops']> = ServiceResult<typeof SESSION_MGR, O>;

export interface SessionTableDeps {
  /** The shard this table serves: producer names must hash to it. */
  shard: number;
  ids: SessionIdSource;
  clock: { now(): number };
  /** The SESSION layout: epochs count seconds from its epoch; a sessionId's time field dates it against a restore. */
  layout: EpochLayout;
  /** Set when the shard was restored from a backup (the server's RestoreMark): pre-restore epochs are fenced. */
  restored?: EpochRestore | undefined;
  openJournal(hooks: SessionJournalHooks): Promise<SessionJournal>;
}

/** Retries of "wait for an in-flight change, then look again"; one is enough, the rest is slack. */
const MAX_LOOKUPS = 4;

export class SessionTable {
  private journal: SessionJournal | undefined;
  private readonly store: SessionStore;
  private readonly epochs: SessionEpochs;
  /** Opens that will add a live session, counted against maxSessions before they are durable. */
  private reserving = 0;
  /** First open of a producer in flight: a second open of the same name waits, then reopens. */
  private readonly creating = new Map<string, Promise<unknown>>();
  /** Expiry records being journaled, one per session. */
  private readonly expiring = new Map<bigint, Promise<void>>();
  private closed = false;

  private constructor(
    private readonly deps: SessionTableDeps,
    readonly options: SessionTableOptions,
  ) {
    this.store = new SessionStore(deps.clock, options.maxEnded);
    this.epochs = new SessionEpochs(deps.layout, deps.clock, deps.restored);
  }

  /** Open the journal and replay it; sessions live at the crash get a fresh timeout from now. */
  static async open(deps: SessionTableDeps, options: SessionTableOptions): Promise<SessionTable> {
    const table = new SessionTable(deps, options);
    table.journal = await deps.openJournal({
      onRecord: (raw) => table.store.apply(parseSessionRecord(raw)),
      snapshot: () => table.store.snapshot(),
    });
    table.store.forgetEndedBefore(deps.clock.now() - options.retentionMs);
    return table;
  }

  get stats(): { live: number; ended: number; producers: number } {
    return { live: this.store.live + this.reserving, ended: this.store.ended.size, producers: this.store.producers.size };
  }

  /** Every reopen takes at least this epoch: 0 unless the shard was restored (then restore time in seconds + MAX_EPOCH_LEAD_S + 1). */
  get epochFloor(): number {
    return this.epochs.floor;
  }

  /**
   * Open a session. Anonymous: a new sessionId (above every ID before, and
   * above `after`) at epoch 0. Named: the producer's existing sessionId at a
   * higher epoch (see SessionEpochs.next) — fencing every older epoch — or a
   * new one at epoch 0 if the producer is unknown (or forgotten, or its epochs
   * would pass MAX_EPOCH). Resolves once the open is durable.
   * NOT_OWNER if the name hashes to another shard; OVERLOADED at maxSessions,
   * or when the producer's next epoch would run more than MAX_EPOCH_LEAD_S
   * ahead of the clock (nothing is journaled then).
   */
  async openSession(producer?: string, timeoutMs?: number, after?: bigint): Promise<Result<'session.open'>> {
    this.checkOpen();
    const timeout = timeoutMs ?? this.options.defaultTimeoutMs;
    if (producer === undefined) return this.create(undefined, timeout, after);
    const owner = shardForKey(producer);
    if (owner !== this.deps.shard) throw wrongShard(producer, owner, this.deps.shard);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const inFlight = this.creating.get(producer);
      if (inFlight) {
        await inFlight.catch(() => undefined);
        continue;
      }
      const id = this.store.producers.get(producer);
      const s = id === undefined ? undefined : this.store.sessions.get(id);
      if (!s || s.reserved >= MAX_EPOCH) return this.create(producer, timeout, after);
      const epoch = this.epochs.next(s.reserved);
      if (epoch === undefined) throw epochsTooFarAhead(producer, s.reserved + 1, this.epochs.nowSec(), MAX_EPOCH_LEAD_S);
      // Seconds no longer fit an int32 epoch (after 2093): move on to a new session, as when epochs are used up.
      if (epoch > MAX_EPOCH) return this.create(producer, timeout, after);
      return this.reopen(s, producer, timeout, epoch);
    }
    throw new Error(`producer ${producer}: its first open kept changing (bug)`);
  }

  /** OK | FENCED | EXPIRED | UNKNOWN for (sessionId, epoch); a live session past its deadline is expired (durably) first. */
  async validate(id: bigint, epoch: number): Promise<SessionStatus> {
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(id, epoch);
      if ('wait' in r) await r.wait;
      else return r.status;
    }
    throw this.stuck(id);
  }

  /** Extend a live session's deadline to now + its timeout; SESSION_FENCED / SESSION_EXPIRED / SESSION_UNKNOWN otherwise. */
  async heartbeat(id: bigint, epoch: number): Promise<Result<'session.heartbeat'>> {
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(id, epoch);
      if ('wait' in r) {
        await r.wait;
        continue;
      }
      if (r.status !== 'OK' || !r.s) throw this.refusal(r.status, id, epoch, r.s);
      r.s.deadline = this.deps.clock.now() + r.s.timeoutMs;
      return { timeoutMs: r.s.timeoutMs };
    }
    throw this.stuck(id);
  }

  /**
   * Close (sessionId, epoch). Resolves once the close is durable; idempotent
   * for an already closed epoch. A closed named session keeps its producer:
   * the next open continues the same session at a higher epoch. SESSION_FENCED for an old epoch,
   * SESSION_UNKNOWN for an unknown session.
   */
  async closeSession(id: bigint, epoch: number): Promise<Result<'session.close'>> {
    const journal = this.checkOpen();
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(id, epoch);
      if ('wait' in r) {
        await r.wait;
        continue;
      }
      const { status, s } = r;
      if (status === 'UNKNOWN' && s?.state === 'CLOSED' && s.epoch === epoch) return {};
      if (status === 'FENCED' || status === 'UNKNOWN' || !s) throw this.refusal(status, id, epoch, s);
      const rec: SessionRecord = { t: 'c', id, e: epoch, at: this.deps.clock.now() };
      await journal.append(rec);
      this.store.apply(rec);
      return {};
    }
    throw this.stuck(id);
  }

  /** Expire (durably) every live session past its deadline, forget ended sessions past retention. */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    const due: Session[] = [];
    for (const s of this.store.sessions.values()) if (s.state === 'OPEN' && s.deadline <= now) due.push(s);
    await Promise.all(due.map((s) => this.expire(s)));
    this.store.forgetEndedBefore(now - this.options.retentionMs);
    return due.length;
  }

  /** Stop taking requests, wait for expiries in flight, close the journal (which finishes pending appends). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.expiring.values(), ...this.creating.values()]);
    await this.journal?.close();
  }

  private async create(producer: string | undefined, timeoutMs: number, after: bigint | undefined): Promise<Result<'session.open'>> {
    if (this.store.live + this.reserving >= this.options.maxSessions) throw tooManySessions(this.options.maxSessions);
    this.reserving++;
    const run = async (): Promise<Result<'session.open'>> => {
      try {
        const journal = this.checkOpen();
        const id = await this.deps.ids.next(after);
        // 0, or on a restored shard its epoch floor: above every epoch the lost process handed out
        // (a producer it opened after the backup is unknown here, and must not start again below them).
        const e = this.epochs.floor;
        const rec: SessionRecord = producer === undefined ? { t: 'o', id, e, to: timeoutMs } : { t: 'o', id, e, to: timeoutMs, p: producer };
        await journal.append(rec);
        this.store.apply(rec);
        return { sessionId: id, epoch: e, timeoutMs };
      } finally {
        this.reserving--;
      }
    };
    const p = run();
    if (producer !== undefined) {
      this.creating.set(producer, p);
      void p.catch(() => undefined).finally(() => this.creating.delete(producer));
    }
    return p;
  }

  /** Journal `epoch` (from SessionEpochs.next, above s.reserved) as s's current one; reserved synchronously, so concurrent reopens get distinct epochs. */
  private async reopen(s: Session, producer: string, timeoutMs: number, epoch: number): Promise<Result<'session.open'>> {
    const wasLive = s.state === 'OPEN';
    if (!wasLive && this.store.live + this.reserving >= this.options.maxSessions) throw tooManySessions(this.options.maxSessions);
    const journal = this.checkOpen();
    s.reserved = epoch;
    if (!wasLive) this.reserving++;
    try {
      const rec: SessionRecord = { t: 'o', id: s.id, e: epoch, to: timeoutMs, p: producer };
      await journal.append(rec);
      this.store.apply(rec);
    } finally {
      if (!wasLive) this.reserving--;
    }
    return { sessionId: s.id, epoch, timeoutMs };
  }

  /** Journal the expiry of `s`'s current epoch; concurrent callers share one record. */
  private expire(s: Session): Promise<void> {
    const existing = this.expiring.get(s.id);
    if (existing) return existing;
    const journal = this.checkOpen();
    const rec: SessionRecord = { t: 'x', id: s.id, e: s.epoch, at: this.deps.clock.now() };
    const p = journal
      .append(rec)
      .then(() => this.store.apply(rec))
      .finally(() => this.expiring.delete(s.id));
    this.expiring.set(s.id, p);
    return p;
  }

  /**
   * Where (id, epoch) stands right now, decided synchronously so the caller can
   * act on it before any other request interleaves; `wait` when an expiry must
   * be journaled first (the caller waits and looks again).
   */
  private look(id: bigint, epoch: number): { status: SessionStatus; s: Session | undefined } | { wait: Promise<void> } {
    const inFlight = this.expiring.get(id);
    if (inFlight) return { wait: inFlight };
    const s = this.store.sessions.get(id);
    // Before anything the restored journal says: it may lack reopens made after the backup.
    if (this.epochs.fencedByRestore(id, epoch)) return { status: 'FENCED', s };
    if (!s) return { status: 'UNKNOWN', s };
    if (s.state === 'RETIRED' || epoch < s.epoch) return { status: 'FENCED', s };
    if (epoch > s.epoch || s.state === 'CLOSED') return { status: 'UNKNOWN', s };
    if (s.state === 'EXPIRED') return { status: 'EXPIRED', s };
    if (s.deadline > this.deps.clock.now()) return { status: 'OK', s };
    return { wait: this.expire(s) };
  }

  private stuck(id: bigint): Error {
    return new Error(`session ${id}: state kept changing (bug)`);
  }

  private refusal(status: SessionStatus, id: bigint, epoch: number, s: Session | undefined): Error {
    const restored = this.epochs.restored;
    if (status === 'FENCED' && restored !== undefined && this.epochs.fencedByRestore(id, epoch)) {
      return sessionFencedByRestore(id, epoch, this.epochs.floor, restored.restoredAt);
    }
    if (status === 'FENCED') return sessionFenced(id, epoch, s && s.state !== 'RETIRED' ? s.epoch : undefined);
    if (status === 'EXPIRED') return sessionExpired(id, epoch);
    return sessionUnknown(id, epoch);
  }

  private checkOpen(): SessionJournal {
    if (this.closed || !this.journal) throw tableClosed();
    return this.journal;
  }
}
