/** Shared by the schema-registry tests (a test file must not import another: its tests would run twice). */
import { shardForKey } from '@pharaoh/protocol';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, SimDisk } from '@pharaoh/testkit';
import type { SchemaTableOptions } from '../src/options.js';
import type { SchemaRecord } from '../src/records.js';
import { SchemaTable } from '../src/schema-table.js';
import type { VersionRestore } from '../src/versions.js';

/** Subject names that hash to `shard` (found by counting up; the hash is fixed by the protocol). */
export function subjectsFor(shard: number, n: number, prefix = 'orders-value'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) out.push(`${prefix}-${i}`);
  return out;
}

export const T0 = Date.UTC(2026, 0, 1);
export const OPTS: SchemaTableOptions = { maxSchemaBytes: 65_536, maxSubjects: 100, maxVersions: 50, maxShardBytes: 1 << 20 };

/** One shard's world: a clock, an id source that survives crashes, a simulated disk; `open()` is one process lifetime. */
export function world(shard: number, opts: Partial<SchemaTableOptions> = {}, seed = 1) {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(SCHEMA_LAYOUT, shard, clock);
  const disk = new SimDisk(seed);
  const open = (o: { compactAtBytes?: number; restored?: VersionRestore } = {}) =>
    SchemaTable.open(
      { shard, ids, clock, layout: SCHEMA_LAYOUT, restored: o.restored, openJournal: (hooks) => disk.open<SchemaRecord>(hooks, o.compactAtBytes) },
      { ...OPTS, ...opts },
    );
  return { clock, ids, disk, open };
}

/** An Avro record schema with `n` long fields, written in the given key order and spacing. */
export function avro(name: string, n: number, pretty = false): string {
  const fields = Array.from({ length: n }, (_, i) => ({ name: `f${i}`, type: 'long' }));
  return JSON.stringify({ type: 'record', name, fields }, null, pretty ? 2 : 0);
}
