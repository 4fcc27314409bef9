/**
 * What group-coord writes to a shard's journal. Records are applied in
 * journal order (replay) and as their appends complete (live), and the table
 * appends every record that changes a group's membership or generation while
 * no other such record of that group is in flight, so both orders are the
 * same. Offsets are applied whatever the generation: a commit is checked
 * against the generation when it is appended, before any later generation.
 */
import { records } from '@pharaoh/server';

const isUint = records.isUint;
const isTime = records.isTime;
const bad = (rec: unknown) => records.bad('group-coord', rec);

/** A member of a generation: [memberId, sessionTimeoutMs, rebalanceTimeoutMs]. */
export type MemberEntry = [string, number, number];
/** One member's assignment: [memberId, bytes]. */
export type AssignmentEntry = [string, Uint8Array];
/** One committed offset: [topic, partition, offset, metadata] ('' = none). */
export type OffsetEntry = [string, number, number, string];

/**
 * Generation `gen` of group `g` is current: its members `m`, leader `l` and
 * protocol `p` ('' for both when `m` is empty). `a`: the assignment, when
 * the coordinator computed it (built-in protocols); else the leader's sync
 * adds it as an AssignRecord.
 */
export interface GenerationRecord {
  t: 'g';
  g: string;
  gen: number;
  p: string;
  l: string;
  m: MemberEntry[];
  a?: AssignmentEntry[];
  /** 1: a member left after this generation formed (written by compaction): the group must rebalance. */
  r?: 1;
}

/** The leader's assignment for generation `gen` (ignored unless `gen` is current). */
export interface AssignRecord {
  t: 'a';
  g: string;
  gen: number;
  a: AssignmentEntry[];
}

/** Member `m` left group `g` (or missed its session timeout) at wall-clock ms `at`. */
export interface LeaveRecord {
  t: 'l';
  g: string;
  m: string;
  at: number;
}

/** Offsets committed for group `g`. */
export interface OffsetsRecord {
  t: 'o';
  g: string;
  o: OffsetEntry[];
}

/** Group `g` (empty, past retention) is forgotten with its offsets. */
export interface DeleteRecord {
  t: 'd';
  g: string;
}

export type GroupRecord = GenerationRecord | AssignRecord | LeaveRecord | OffsetsRecord | DeleteRecord;

const isStr = (v: unknown): v is string => typeof v === 'string';

function memberEntry(v: unknown): v is MemberEntry {
  return Array.isArray(v) && v.length === 3 && isStr(v[0]) && isUint(v[1]) && isUint(v[2]);
}

function assignmentEntries(v: unknown): v is AssignmentEntry[] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && isStr(e[0]) && e[1] instanceof Uint8Array);
}

/** An offset as msgpack hands it back: a number, or a bigint above 2^32 (the journal decodes uint64 as bigint). */
function offsetOf(v: unknown): number | undefined {
  if (isUint(v)) return v;
  const n = records.id(v);
  return n !== undefined && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

function offsetEntry(v: unknown): OffsetEntry | undefined {
  if (!Array.isArray(v) || v.length !== 4 || !isStr(v[0]) || !isUint(v[1]) || !isStr(v[3])) return undefined;
  const offset = offsetOf(v[2]);
  return offset === undefined ? undefined : [v[0], v[1], offset, v[3]];
}

/** Check a replayed record's shape. */
export function parseGroupRecord(raw: unknown): GroupRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  const g = r['g'];
  if (!isStr(g)) throw bad(raw);
  switch (r['t']) {
    case 'g': {
      const { gen, p, l, m, a } = r;
      if (!isUint(gen) || !isStr(p) || !isStr(l) || !Array.isArray(m) || !m.every(memberEntry)) throw bad(raw);
      if (a !== undefined && !assignmentEntries(a)) throw bad(raw);
      if (r['r'] !== undefined && r['r'] !== 1) throw bad(raw);
      const rec: GenerationRecord = { t: 'g', g, gen, p, l, m };
      if (a !== undefined) rec.a = a;
      if (r['r'] === 1) rec.r = 1;
      return rec;
    }
    case 'a': {
      const { gen, a } = r;
      if (!isUint(gen) || !assignmentEntries(a)) throw bad(raw);
      return { t: 'a', g, gen, a };
    }
    case 'l': {
      const { m, at } = r;
      if (!isStr(m) || !isTime(at)) throw bad(raw);
      return { t: 'l', g, m, at };
    }
    case 'o': {
      const o = r['o'];
      if (!Array.isArray(o)) throw bad(raw);
      const entries = o.map(offsetEntry);
      if (!entries.every((e): e is OffsetEntry => e !== undefined)) throw bad(raw);
      return { t: 'o', g, o: entries };
    }
    case 'd':
      return { t: 'd', g };
    default:
      throw bad(raw);
  }
}
