import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { codeOf } from '@pharaoh/testkit';
import { storedBytes } from '../src/schema-store.js';
import { avro, subjectsFor, world } from './helpers.js';

const SHARD = shardForKey('orders-value');
const [S1, S2, S3] = subjectsFor(SHARD, 3) as [string, string, string];

describe('SchemaTable', () => {
  it('registers versions 1, 2, 3 of a subject with fresh schema ids carrying the shard', async () => {
    const { open } = world(SHARD);
    const t = await open();
    const a = await t.register(S1, avro('User', 1), 'AVRO');
    const b = await t.register(S1, avro('User', 2), 'AVRO');
    const c = await t.register(S1, 'syntax = "proto3";', 'PROTOBUF');
    expect([a.version, b.version, c.version]).toEqual([1, 2, 3]);
    expect(b.schemaId).toBeGreaterThan(a.schemaId);
    expect(c.schemaId).toBeGreaterThan(b.schemaId);
    for (const r of [a, b, c]) expect(SCHEMA_LAYOUT.shardOf(r.schemaId)).toBe(SHARD);
    expect(t.versions(S1)).toEqual({ versions: [{ version: 1, schemaId: a.schemaId }, { version: 2, schemaId: b.schemaId }, { version: 3, schemaId: c.schemaId }] });
    expect(t.latest(S1)).toEqual({ schemaId: c.schemaId, version: 3, schema: 'syntax = "proto3";', format: 'PROTOBUF' });
    expect(t.get(a.schemaId)).toEqual({ subject: S1, version: 1, schema: avro('User', 1), format: 'AVRO' });
  });

  it('answers the same id and version for the same canonical schema, and returns the text first registered', async () => {
    const { open, ids } = world(SHARD);
    const t = await open();
    const first = await t.register(S1, avro('User', 2), 'AVRO');
    const issued = ids.issued.length;
    // Same schema, other whitespace and key order.
    const reordered = '{ "fields": [{"type":"long","name":"f0"}, {"name":"f1","type":"long"}], "name": "User", "type": "record" }';
    expect(await t.register(S1, reordered, 'AVRO')).toEqual(first);
    expect(await t.register(S1, avro('User', 2, true), 'AVRO')).toEqual(first);
    expect(ids.issued.length).toBe(issued); // no id spent on a repeat
    expect(t.get(first.schemaId).schema).toBe(avro('User', 2));
    // Same text in another format is another schema; the same schema under another subject is another id.
    const asJson = await t.register(S1, avro('User', 2), 'JSON');
    expect(asJson.version).toBe(2);
    const other = await t.register(S2, avro('User', 2), 'AVRO');
    expect(other).toEqual({ schemaId: other.schemaId, version: 1 });
    expect(other.schemaId).not.toBe(first.schemaId);
    // An older version registered again keeps its number: it does not become the latest.
    expect(await t.register(S1, avro('User', 2), 'AVRO')).toEqual(first);
    expect(t.latest(S1).version).toBe(2);
  });

  it('gives concurrent registrations of one schema one id, and of different schemas distinct consecutive versions', async () => {
    const { open } = world(SHARD);
    const t = await open();
    const same = await Promise.all([t.register(S1, '{"a":1}', 'JSON'), t.register(S1, '{ "a" : 1 }', 'JSON'), t.register(S1, '{"a":1}', 'JSON')]);
    expect(new Set(same.map((r) => r.schemaId)).size).toBe(1);
    expect(same[0]!.version).toBe(1);
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => t.register(S1, `{"v":${i}}`, 'JSON')));
    expect(many.map((r) => r.version).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(new Set(many.map((r) => r.schemaId)).size).toBe(10);
    expect(t.versions(S1).versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('keeps every version and id across a restart and a journal compaction', async () => {
    const w = world(SHARD);
    const t = await w.open({ compactAtBytes: 4096 });
    const acked = [];
    for (let i = 0; i < 40; i++) acked.push({ subject: i % 2 ? S1 : S2, r: await t.register(i % 2 ? S1 : S2, avro(`R${i}`, 3), 'AVRO') });
    expect(w.disk.current.stats.compactions).toBeGreaterThan(0);
    await t.close();
    const t2 = await w.open({ compactAtBytes: 4096 });
    for (const { subject, r } of acked) {
      expect(t2.get(r.schemaId)).toMatchObject({ subject, version: r.version });
      expect(await t2.register(subject, t2.get(r.schemaId).schema, 'AVRO')).toEqual(r);
    }
    const next = await t2.register(S1, avro('New', 1), 'AVRO');
    expect(next.version).toBe(21);
    expect(next.schemaId).toBeGreaterThan(acked[acked.length - 1]!.r.schemaId);
  });

  it('answers SCHEMA_NOT_FOUND for an unknown subject or id, and NOT_OWNER for a subject of another shard', async () => {
    const { open } = world(SHARD);
    const t = await open();
    const r = await t.register(S1, '{}', 'JSON');
    expect(() => t.latest(S3)).toThrow(expect.objectContaining({ code: 'SCHEMA_NOT_FOUND' }));
    expect(() => t.versions(S3)).toThrow(expect.objectContaining({ code: 'SCHEMA_NOT_FOUND' }));
    expect(() => t.get(r.schemaId + 1n)).toThrow(expect.objectContaining({ code: 'SCHEMA_NOT_FOUND' }));
    const foreign = subjectsFor((SHARD + 1) % 1024, 1, 'elsewhere')[0]!;
    for (const call of [() => t.latest(foreign), () => t.versions(foreign)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'NOT_OWNER', details: { shard: (SHARD + 1) % 1024 } }));
    }
    expect(await codeOf(t.register(foreign, '{}', 'JSON'))).toBe('NOT_OWNER');
  });

  it('refuses bad input with BAD_REQUEST naming the field, and journals nothing for it', async () => {
    const { open, disk } = world(SHARD, { maxSchemaBytes: 100 });
    const t = await open();
    const size = disk.current.sizeBytes;
    const cases: Array<[string, string, string]> = [
      ['{}', 'XML', 'format'],
      ['{}', 'json', 'format'],
      ['{"a":', 'JSON', 'schema'],
      ['not json', 'AVRO', 'schema'],
      ['   ', 'PROTOBUF', 'schema'],
      ['x'.repeat(101), 'PROTOBUF', 'schema'],
      // 34 three-byte characters: 102 bytes of UTF-8 in 34 UTF-16 units.
      ['"' + 'é'.repeat(50) + '"', 'JSON', 'schema'],
    ];
    for (const [schema, format, field] of cases) {
      const err = await t.register(S1, schema, format).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BAD_REQUEST', details: { field } });
    }
    expect(disk.current.sizeBytes).toBe(size);
    expect(() => t.latest(S1)).toThrow(expect.objectContaining({ code: 'SCHEMA_NOT_FOUND' }));
  });

  it('answers SCHEMA_LIMIT past maxSubjects, maxVersions and maxShardBytes; repeats of known schemas still answer', async () => {
    const subjects = subjectsFor(SHARD, 4, 'limit');
    const { open } = world(SHARD, { maxSubjects: 2, maxVersions: 3, maxShardBytes: 1024 });
    const t = await open();
    await t.register(subjects[0]!, '{"v":1}', 'JSON');
    await t.register(subjects[1]!, '{"v":1}', 'JSON');
    const err = await t.register(subjects[2]!, '{"v":1}', 'JSON').catch((e: unknown) => e) as Error;
    expect(err).toMatchObject({ code: 'SCHEMA_LIMIT' });
    expect(err.message).toMatch(/2 subjects/);
    await t.register(subjects[0]!, '{"v":2}', 'JSON');
    await t.register(subjects[0]!, '{"v":3}', 'JSON');
    expect(((await t.register(subjects[0]!, '{"v":4}', 'JSON').catch((e: unknown) => e)) as Error).message).toMatch(/3 versions/);
    expect(await t.register(subjects[0]!, '{"v":1}', 'JSON')).toMatchObject({ version: 1 });
    // Bytes: what is stored so far plus a 1 KiB schema passes 1024.
    const big = `{"pad":"${'x'.repeat(1000)}"}`;
    expect(t.stats.bytes).toBe(3 * storedBytes(subjects[0]!, '{"v":1}') + storedBytes(subjects[1]!, '{"v":1}'));
    expect(t.stats.bytes + storedBytes(subjects[1]!, big)).toBeGreaterThan(1024);
    expect(storedBytes(subjects[1]!, big)).toBeLessThan(1024);
    const full = await t.register(subjects[1]!, big, 'JSON').catch((e: unknown) => e) as Error;
    expect(full).toMatchObject({ code: 'SCHEMA_LIMIT' });
    expect(full.message).toMatch(/--max-shard-bytes/);
    expect(t.stats).toMatchObject({ subjects: 2, versions: 4 });
  });

  it('does not acknowledge a registration whose journal write was cut by a process death, and replays only what was durable', async () => {
    const w = world(SHARD);
    const t = await w.open();
    const kept = await t.register(S1, '{"v":1}', 'JSON');
    await w.disk.killBeforeSync(() => t.register(S1, '{"v":2}', 'JSON'));
    const t2 = await w.open();
    expect(t2.get(kept.schemaId)).toMatchObject({ version: 1 });
    // The cut record may or may not have reached the page cache: if it did, it is version 2; never another number.
    const again = await t2.register(S1, '{"v":2}', 'JSON');
    expect(again.version).toBe(2);
    expect(again.schemaId).not.toBe(kept.schemaId);
  });

  it('answers SHARD_UNAVAILABLE once closed', async () => {
    const { open } = world(SHARD);
    const t = await open();
    await t.close();
    expect(await codeOf(t.register(S1, '{}', 'JSON'))).toBe('SHARD_UNAVAILABLE');
  });
});
