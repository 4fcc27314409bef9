/**
 * What session-mgr writes to a shard's journal. Every record is conditional on
 * the epoch it names, so applying records in journal order (replay) and
 * applying them as their appends complete (live) give the same state, even
 * when an open and a close of the same session race.
 */
import { records } from '@pharaoh/server';

const big = records.id;
const isInt = records.isUint;
const isTime = records.isTime;
const bad = (rec: unknown) => records.bad('session-mgr', rec);

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
