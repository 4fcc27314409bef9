/**
 * What txcoord writes to a shard's journal. Begins are NOT journaled (presumed
 * abort: a transaction whose decision is not in the journal was never
 * committed, so it is aborted after a restart). Only decisions, the
 * forgetting watermark and — once per graceful shard move — the open
 * transactions the move carries are.
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

/**
 * Open transactions carried by a graceful shard move (TxTable.closeForMove),
 * written after the table closed, so after every decision. One carry is `n`
 * chunks `i` = 0..n-1 in a row (a record holds at most CARRY_CHUNK of them).
 * An open honours a carry only if its chunks are complete and the LAST
 * records of the journal: any later record (a decision, a watermark) voids
 * it. `x`: [txId, timeoutMs, time left at the release in ms].
 */
export interface CarryRecord {
  t: 'o';
  i: number;
  n: number;
  x: Array<[bigint, number, number]>;
}

/** Open transactions per carry record: ~20 bytes each, well below the journal's 1 MiB record limit. */
export const CARRY_CHUNK = 8_192;

export type TxRecord = CommitRecord | AbortRecord | ForgetRecord | CarryRecord;

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
    case 'o': {
      const { i, n, x } = r;
      if (!records.isUint(i) || !records.isUint(n) || i >= n || !Array.isArray(x) || x.length > CARRY_CHUNK) throw bad(raw);
      const txs: Array<[bigint, number, number]> = [];
      for (const row of x as unknown[]) {
        if (!Array.isArray(row) || row.length !== 3) throw bad(raw);
        const id = big(row[0]);
        const timeoutMs = row[1] as unknown;
        const leftMs = row[2] as unknown;
        if (id === undefined || !records.isUint(timeoutMs) || !records.isUint(leftMs)) throw bad(raw);
        txs.push([id, timeoutMs, leftMs]);
      }
      return { t: 'o', i, n, x: txs };
    }
    default:
      throw bad(raw);
  }
}
