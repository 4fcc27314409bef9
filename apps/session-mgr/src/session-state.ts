/**
 * The durable state of one session shard, as rebuilt from journal records:
 * sessions, which producer owns which session, and which sessions ended when.
 * Only `apply` changes it (plus deadline bumps and forgetting, which are not
 * journaled), so replay and live operation cannot drift apart.
 */
import type { SessionRecord } from './records.js';

export type SessionState = 'OPEN' | 'CLOSED' | 'EXPIRED' | 'RETIRED';

export interface Session {
  readonly id: bigint;
  /** The producer name, for named sessions (kept after retirement for logs). */
  readonly producer: string | undefined;
  /** Current durable epoch: older epochs are fenced. */
  epoch: number;
  /** Highest epoch handed to an open still being journaled (>= epoch), so concurrent opens get distinct epochs. */
  reserved: number;
  timeoutMs: number;
  /** Wall-clock ms after which an OPEN session without heartbeat is expired. Not durable: a restart grants a fresh timeout. */
  deadline: number;
  state: SessionState;
  /** When it left OPEN (ms), for retention. */
  endedAt: number;
}

export class SessionStore {
  readonly sessions = new Map<bigint, Session>();
  readonly producers = new Map<string, bigint>();
  /** Sessions not OPEN, oldest end first: forgotten after retention or beyond `maxEnded`. */
  readonly ended = new Map<bigint, number>();
  live = 0;

  constructor(
    private readonly clock: { now(): number },
    private readonly maxEnded: number,
  ) {}

  /** Apply one durable record; stale ones (for an epoch that is not current) change nothing. */
  apply(rec: SessionRecord): void {
    switch (rec.t) {
      case 'o':
        this.applyOpen(rec.id, rec.e, rec.to, rec.p);
        return;
      case 'c':
      case 'x': {
        const s = this.sessions.get(rec.id);
        if (!s || s.epoch !== rec.e) return;
        if (rec.t === 'c' && (s.state === 'OPEN' || s.state === 'EXPIRED')) this.end(s, 'CLOSED', rec.at);
        if (rec.t === 'x' && s.state === 'OPEN') this.end(s, 'EXPIRED', rec.at);
        return;
      }
      case 'r': {
        const s = this.sessions.get(rec.id);
        if (s && s.state !== 'RETIRED') this.end(s, 'RETIRED', rec.at);
        return;
      }
    }
  }

  private applyOpen(id: bigint, epoch: number, timeoutMs: number, producer: string | undefined): void {
    const now = this.clock.now();
    const s = this.sessions.get(id);
    if (!s) {
      this.sessions.set(id, { id, producer, epoch, reserved: epoch, timeoutMs, deadline: now + timeoutMs, state: 'OPEN', endedAt: 0 });
      this.live++;
      if (producer !== undefined) {
        const old = this.producers.get(producer);
        const oldSession = old === undefined ? undefined : this.sessions.get(old);
        if (oldSession && old !== id && oldSession.state !== 'RETIRED') this.end(oldSession, 'RETIRED', now);
        this.producers.set(producer, id);
      }
      return;
    }
    if (epoch <= s.epoch || s.state === 'RETIRED') return;
    if (s.state !== 'OPEN') {
      this.live++;
      this.ended.delete(id);
    }
    s.epoch = epoch;
    s.reserved = Math.max(s.reserved, epoch);
    s.timeoutMs = timeoutMs;
    s.deadline = now + timeoutMs;
    s.state = 'OPEN';
  }

  private end(s: Session, state: Exclude<SessionState, 'OPEN'>, at: number): void {
    if (s.state === 'OPEN') this.live--;
    s.state = state;
    s.endedAt = at;
    this.ended.delete(s.id);
    this.ended.set(s.id, at);
    if (state === 'RETIRED' && s.producer !== undefined && this.producers.get(s.producer) === s.id) {
      this.producers.delete(s.producer);
    }
    while (this.ended.size > this.maxEnded) {
      const oldest = this.ended.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
  }

  /** Drop an ended session entirely: its id answers UNKNOWN, its producer starts a new session on the next open. */
  forget(id: bigint): void {
    const s = this.sessions.get(id);
    this.ended.delete(id);
    if (!s) return;
    if (s.state === 'OPEN') this.live--;
    this.sessions.delete(id);
    if (s.producer !== undefined && this.producers.get(s.producer) === id) this.producers.delete(s.producer);
  }

  /** Forget sessions that ended at or before `cutoff` (oldest first; a clock step back only delays it). */
  forgetEndedBefore(cutoff: number): void {
    for (const [id, at] of this.ended) {
      if (at > cutoff) break;
      this.forget(id);
    }
  }

  /**
   * The state as records: live sessions first, then ended ones in the order
   * they ended, so replay rebuilds the same forgetting order. Retired sessions
   * are written without their producer, so they cannot claim it on replay.
   */
  snapshot(): SessionRecord[] {
    const out: SessionRecord[] = [];
    const open = (s: Session, withProducer: boolean): SessionRecord =>
      withProducer && s.producer !== undefined
        ? { t: 'o', id: s.id, e: s.epoch, to: s.timeoutMs, p: s.producer }
        : { t: 'o', id: s.id, e: s.epoch, to: s.timeoutMs };
    for (const s of this.sessions.values()) if (s.state === 'OPEN') out.push(open(s, true));
    for (const id of this.ended.keys()) {
      const s = this.sessions.get(id);
      if (!s) continue;
      out.push(open(s, s.state !== 'RETIRED'));
      if (s.state === 'RETIRED') out.push({ t: 'r', id, at: s.endedAt });
      else out.push({ t: s.state === 'CLOSED' ? 'c' : 'x', id, e: s.epoch, at: s.endedAt });
    }
    return out;
  }
}
