/**
 * What session-mgr writes to a shard's journal. Every record is conditional on
 * the epoch it names, so applying records in journal order (replay) and
 * applying them as their appends complete (live) give the same state, even
 * when an open and a close of the same session race.
 */
import { SESSION_ERROR_CODES, SessionMgrError } from './errors.js';

/** Epoch `e` of session `id` is current (and live); `p` = producer name for named sessions; `to` = its timeout. */
export interface OpenRecord {
  t: 'o';
  id: bigint;
  e: number;
  to: number;
  p?: string;
}

/** Epoch `e` of session `id` was closed (`c`) or expired (`x`) at wall-clock ms `at`; ignored if `e` is not current. */
export interface EndRecord {
  t: 'c' | 'x';
  id: bigint;
  e: number;
  at: number;
}

/** Session `id` was replaced by a new session of the same producer (epoch space used up): every epoch is fenced. */
export interface RetireRecord {
  t: 'r';
  id: bigint;
  at: number;
}

export type SessionRecord = OpenRecord | EndRecord | RetireRecord;

function big(v: unknown): bigint | undefined {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return undefined;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function bad(rec: unknown): SessionMgrError {
  let text: string;
  try {
    text = JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    text = String(rec);
  }
  return new SessionMgrError(SESSION_ERROR_CODES.BAD_RECORD, `not a session-mgr journal record: ${text.slice(0, 200)}`);
}

/** Check a replayed record's shape (msgpack may hand small integers back as numbers). */
export function parseSessionRecord(raw: unknown): SessionRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  const id = big(r['id']);
  if (id === undefined) throw bad(raw);
  switch (r['t']) {
    case 'o': {
      const { e, to, p } = r;
      if (!isInt(e) || !isInt(to) || (p !== undefined && typeof p !== 'string')) throw bad(raw);
      return p === undefined ? { t: 'o', id, e, to } : { t: 'o', id, e, to, p };
    }
    case 'c':
    case 'x': {
      const { e, at } = r;
      if (!isInt(e) || !isTime(at)) throw bad(raw);
      return { t: r['t'], id, e, at };
    }
    case 'r': {
      if (!isTime(r['at'])) throw bad(raw);
      return { t: 'r', id, at: r['at'] };
    }
    default:
      throw bad(raw);
  }
}
