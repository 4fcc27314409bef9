/**
 * What the sequencer writes to a shard's journal: one record type. Each names
 * a partition's end (the next offset to hand out) as an absolute value, and
 * applying it takes the maximum, so replay in journal order, the live state
 * and a compaction snapshot (one record per partition, plus one per
 * remembered producer) all agree, whatever order concurrent appends finish in.
 *
 * A record of a request that carried an idempotency token (`producerId`,
 * `seq`) also holds the token and the range's count (`q`, `s`, `n`: the range
 * is `[e − n, e)`), in the same record as the assignment, so the token is
 * durable exactly when the range is. Applying it keeps, per partition and
 * producer, the record of the largest seq.
 */
import { records } from '@pharaoh/server';

const bad = (rec: unknown) => records.bad('sequencer', rec);

/** Offsets of partition `p` below `e` have been handed out (or taken by a request whose answer may have been lost). */
export interface AssignRecord {
  t: 'a';
  p: string;
  e: number;
  /** The request's producerId (only with `s` and `n`). */
  q?: number;
  /** The request's seq. */
  s?: number;
  /** The range's count: it is `[e − n, e)`. */
  n?: number;
}

export type SequencerRecord = AssignRecord;

/** Check a replayed record's shape. */
export function parseSequencerRecord(raw: unknown): SequencerRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  if (r['t'] !== 'a' || typeof r['p'] !== 'string' || r['p'].length === 0 || !records.isUint(r['e'])) throw bad(raw);
  const q = r['q'];
  if (q === undefined || q === null) return { t: 'a', p: r['p'], e: r['e'] };
  const s = r['s'];
  const n = r['n'];
  if (!records.isUint(q) || !records.isUint(s) || !records.isUint(n) || n < 1 || n > r['e']) throw bad(raw);
  return { t: 'a', p: r['p'], e: r['e'], q, s, n };
}
