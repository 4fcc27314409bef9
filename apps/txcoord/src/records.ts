/**
 * What txcoord writes to a shard's journal. Begins are NOT journaled (presumed
 * abort: a transaction whose decision is not in the journal was never
 * committed, so it is aborted after a restart). Only decisions and the
 * forgetting watermark are.
 */
import { records } from '@pharaoh/server';

const big = records.id;
const bad = (rec: unknown) => records.bad('txcoord', rec);

/** Commit decision: `id` committed at `ts` (both TX-layout IDs of this shard); `at` = wall-clock ms of the decision. */
export interface CommitRecord {
  t: 'c';
  id: bigint;
  ts: bigint;
  at: number;
}

/** Abort decision (explicit, or by timeout). */
export interface AbortRecord {
  t: 'a';
  id: bigint;
  at: number;
}

/**
 * Forgetting watermark, written by snapshots: every decision about a txId whose
 * time field is below `u` may have been dropped, so such a txId must answer
 * UNKNOWN (never "presumed aborted": it may have been committed).
 */
export interface ForgetRecord {
  t: 'f';
  u: number;
}

export type TxRecord = CommitRecord | AbortRecord | ForgetRecord;

/** Check a replayed record's shape (msgpack may hand small integers back as numbers). */
export function parseTxRecord(raw: unknown): TxRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  const at = typeof r['at'] === 'number' && Number.isFinite(r['at']) ? r['at'] : undefined;
  switch (r['t']) {
    case 'c': {
      const id = big(r['id']);
      const ts = big(r['ts']);
      if (id === undefined || ts === undefined || at === undefined) throw bad(raw);
      return { t: 'c', id, ts, at };
    }
    case 'a': {
      const id = big(r['id']);
      if (id === undefined || at === undefined) throw bad(raw);
      return { t: 'a', id, at };
    }
    case 'f': {
      const u = r['u'];
      if (typeof u !== 'number' || !Number.isSafeInteger(u)) throw bad(raw);
      return { t: 'f', u };
    }
    default:
      throw bad(raw);
  }
}
