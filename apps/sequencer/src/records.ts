/**
 * What the sequencer writes to a shard's journal: one record type. Each names
 * a partition's end (the next offset to hand out) as an absolute value, and
 * applying it takes the maximum, so replay in journal order, the live state
 * and a compaction snapshot (one record per partition) all agree, whatever
 * order concurrent appends finish in.
 */
import { records } from '@pharaoh/server';

const bad = (rec: unknown) => records.bad('sequencer', rec);

/** Offsets of partition `p` below `e` have been handed out (or taken by a request whose answer may have been lost). */
export interface AssignRecord {
  t: 'a';
  p: string;
  e: number;
}

export type SequencerRecord = AssignRecord;

/** Check a replayed record's shape. */
export function parseSequencerRecord(raw: unknown): SequencerRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  if (r['t'] !== 'a' || typeof r['p'] !== 'string' || r['p'].length === 0 || !records.isUint(r['e'])) throw bad(raw);
  return { t: 'a', p: r['p'], e: r['e'] };
}
