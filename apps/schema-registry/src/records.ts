/**
 * What schema-registry writes to a shard's journal: one record per version,
 * so the journal (and its compacted snapshot) holds every schema ever
 * registered. Records are facts, not commands: replaying them in journal
 * order rebuilds the same table whatever order live appends completed in.
 *
 * Room for compatibility checking: a later version adds a record type that
 * sets a subject's compatibility level; today's journals have none, so their
 * subjects replay at NONE.
 */
import { records } from '@pharaoh/server';
import { isSchemaFormat, type SchemaFormat } from './canonical.js';

const bad = (rec: unknown) => records.bad('schema-registry', rec);
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Version `v` of subject `s` is schema `x` (as first registered) in format
 * `f`, with fingerprint `h` (src/canonical.ts: kept, not recomputed, so a
 * later change of canonical form cannot split an old version in two) and
 * schema id `id`.
 */
export interface RegisterRecord {
  t: 'r';
  id: bigint;
  s: string;
  v: number;
  f: SchemaFormat;
  x: string;
  h: string;
}

export type SchemaRecord = RegisterRecord;

/** Check a replayed record's shape (msgpack may hand small integers back as numbers). */
export function parseSchemaRecord(raw: unknown): SchemaRecord {
  if (typeof raw !== 'object' || raw === null) throw bad(raw);
  const r = raw as Record<string, unknown>;
  if (r['t'] !== 'r') throw bad(raw);
  const id = records.id(r['id']);
  const { s, v, f, x, h } = r;
  if (id === undefined || !isName(s) || !records.isUint(v) || v < 1 || !isSchemaFormat(f) || !isName(x) || typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) {
    throw bad(raw);
  }
  return { t: 'r', id, s, v, f, x, h };
}
