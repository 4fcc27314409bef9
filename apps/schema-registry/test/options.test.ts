import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SCHEMA_BYTES, DEFAULT_MAX_SHARD_BYTES, DEFAULT_MAX_SUBJECTS, DEFAULT_MAX_VERSIONS, parseSchemaOptions } from '../src/options.js';
import { parseSchemaRecord } from '../src/records.js';
import { SchemaStore } from '../src/schema-store.js';

const H = 'a'.repeat(64);

describe('parseSchemaOptions', () => {
  it('fills every default when nothing is given', () => {
    expect(parseSchemaOptions()).toMatchObject({
      maxSchemaBytes: DEFAULT_MAX_SCHEMA_BYTES,
      maxSubjects: DEFAULT_MAX_SUBJECTS,
      maxVersions: DEFAULT_MAX_VERSIONS,
      maxShardBytes: DEFAULT_MAX_SHARD_BYTES,
    });
  });

  it('accepts numbers from code and decimal strings from the command line', () => {
    expect(parseSchemaOptions({ maxVersions: '3', maxSubjects: 9, maxShardBytes: '4096' })).toMatchObject({ maxVersions: 3, maxSubjects: 9, maxShardBytes: 4096 });
  });

  it('refuses out-of-range and non-integer values with BAD_OPTIONS, naming the option and its flag', () => {
    for (const bad of [{ maxSchemaBytes: 0 }, { maxSchemaBytes: 65_537 }, { maxVersions: 10_001 }, { maxSubjects: 'many' }, { maxShardBytes: 1.5 }]) {
      expect(() => parseSchemaOptions(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTIONS' }));
    }
    expect(() => parseSchemaOptions({ maxVersions: 0 })).toThrow(/maxVersions \(--max-versions\)/);
  });
});

describe('parseSchemaRecord', () => {
  it('accepts the records schema-registry writes, with ids as bigint or small numbers', () => {
    const rec = { t: 'r', id: 5, s: 'orders', v: 1, f: 'AVRO', x: '{}', h: H };
    expect(parseSchemaRecord(rec)).toEqual({ ...rec, id: 5n });
    expect(parseSchemaRecord({ ...rec, id: 2n ** 63n })).toMatchObject({ id: 2n ** 63n });
  });

  it('refuses anything else with BAD_RECORD', () => {
    const ok = { t: 'r', id: 5n, s: 'orders', v: 1, f: 'AVRO', x: '{}', h: H };
    for (const bad of [null, 'r', { ...ok, t: 'c' }, { ...ok, v: 0 }, { ...ok, v: 1.5 }, { ...ok, f: 'XML' }, { ...ok, s: '' }, { ...ok, x: 3 }, { ...ok, h: 'ABC' }, { ...ok, id: -1 }]) {
      expect(() => parseSchemaRecord(bad)).toThrow(expect.objectContaining({ code: 'BAD_RECORD' }));
    }
  });
});

describe('SchemaStore.apply', () => {
  it('ignores a record applied twice and refuses records that contradict the table (a journal it did not write)', () => {
    const store = new SchemaStore();
    const rec = parseSchemaRecord({ t: 'r', id: 5n, s: 'orders', v: 1, f: 'JSON', x: '{}', h: H });
    store.apply(rec);
    store.apply(rec);
    expect(store.byId.size).toBe(1);
    expect(() => store.apply({ ...rec, v: 2 })).toThrow(/schema id 5/);
    expect(() => store.apply({ ...rec, id: 6n })).toThrow(/fingerprint/);
    expect(() => store.apply({ ...rec, id: 6n, h: 'b'.repeat(64) })).toThrow(/version 1/);
    // Out of order (live appends may complete so): versions stay sorted.
    store.apply({ ...rec, id: 8n, v: 3, h: 'c'.repeat(64) });
    store.apply({ ...rec, id: 7n, v: 2, h: 'd'.repeat(64) });
    expect(store.subjects.get('orders')!.versions.map((x) => x.version)).toEqual([1, 2, 3]);
    expect(store.snapshot().map((r) => r.v)).toEqual([1, 3, 2]);
  });
});
