/**
 * schema-registry as a real process (its main.ts, one node process), called
 * through PharaohClient (`client.schemas.*`) and a raw WebSocket client.
 * Fault model of the restart test: process death (SIGKILL in a stream of
 * registrations); invariants: every acknowledged registration is readable
 * after the restart with its id, version and schema, the same schema gets the
 * same id and version again, no id is answered twice, and new ids are above
 * every id acknowledged on their shard before.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, PharaohClient, SchemaNotFoundError } from '@pharaoh/client';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { DataDirApp, killAll, REPO_ROOT, type RawClient } from '@pharaoh/testkit';
import { subjectsFor } from './helpers.js';

const MAIN = join(REPO_ROOT, 'apps/schema-registry/src/main.ts');
const SHARDS = [0, 1, 2, 3];
const ARGS = ['--port', '0', '--http-port', '0', '--shards', '0-3', '--log-level', 'warn', '--max-versions', '20'];

const node = new DataDirApp(MAIN, ARGS, 'schema-it-');
afterAll(killAll);

const record = (name: string, fields: number, pretty = false) =>
  JSON.stringify({ type: 'record', name, fields: Array.from({ length: fields }, (_, i) => ({ name: `f${i}`, type: 'string' })) }, null, pretty ? 2 : 0);

describe('schema-registry through the client', () => {
  let raw: RawClient;
  let client: PharaohClient;
  beforeAll(async () => {
    raw = await node.start();
    client = await PharaohClient.connect({ endpoints: [node.app!.url] });
  });
  afterAll(async () => {
    await client.close();
    await node.cleanup();
  });

  it('registers, repeats, reads back by id and subject, and lists versions', async () => {
    const subject = subjectsFor(2, 1, 'it-orders')[0]!;
    const v1 = await client.schemas.register(subject, record('Order', 1), 'AVRO');
    expect(v1.version).toBe(1);
    expect(SCHEMA_LAYOUT.shardOf(v1.schemaId)).toBe(2);
    expect(await client.schemas.register(subject, record('Order', 1, true), 'AVRO')).toEqual(v1);
    const v2 = await client.schemas.register(subject, 'syntax = "proto3";\nmessage Order { string id = 1; }\n', 'PROTOBUF');
    expect(v2.version).toBe(2);
    expect(await client.schemas.get(v1.schemaId)).toEqual({ subject, version: 1, schema: record('Order', 1), format: 'AVRO' });
    expect(await client.schemas.versions(subject)).toEqual([
      { version: 1, schemaId: v1.schemaId },
      { version: 2, schemaId: v2.schemaId },
    ]);
    expect(await client.schemas.latest(subject)).toEqual({ schemaId: v2.schemaId, version: 2, schema: 'syntax = "proto3";\nmessage Order { string id = 1; }\n', format: 'PROTOBUF' });
    // A schema close to the default 64 KiB frame still fits one request.
    const big = `{"doc":"${'d'.repeat(60_000)}"}`;
    expect((await client.schemas.register(subject, big, 'JSON')).version).toBe(3);
  });

  it('answers unknown subjects and ids with SchemaNotFoundError and bad schemas with BadRequestError', async () => {
    const subject = subjectsFor(1, 1, 'it-unknown')[0]!;
    await expect(client.schemas.latest(subject)).rejects.toBeInstanceOf(SchemaNotFoundError);
    await expect(client.schemas.versions(subject)).rejects.toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
    await expect(client.schemas.get(SCHEMA_LAYOUT.encode({ time: 1, shard: 3, seq: 0 }))).rejects.toBeInstanceOf(SchemaNotFoundError);
    await expect(client.schemas.register(subject, '{not json', 'JSON')).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.schemas.register(subject, '{}', 'XML' as 'JSON')).rejects.toMatchObject({ code: 'BAD_REQUEST', details: { field: 'format' } });
  });

  it('refuses a subject sent to another shard (naming the owner), foreign ids, and malformed or hostile fields, never INTERNAL', async () => {
    const foreign = subjectsFor(9, 1, 'it-foreign')[0]!;
    const r = await raw.request('schema.register', { shard: 2, subject: foreign, schema: '{}', format: 'JSON' });
    expect(r.err).toMatchObject({ code: 'NOT_OWNER', shard: 9 });
    const mine = subjectsFor(0, 1, 'it-mine')[0]!;
    expect((await raw.request('schema.latest', { shard: 1, subject: mine })).err).toMatchObject({ code: 'NOT_OWNER', shard: 0 });
    expect((await raw.request('schema.get', { schemaId: SCHEMA_LAYOUT.encode({ time: 1, shard: 9, seq: 0 }) })).err?.code).toBe('NOT_OWNER');
    expect((await raw.request('schema.register', { shard: 0, subject: mine, schema: '', format: 'JSON' })).err).toMatchObject({ code: 'BAD_REQUEST', field: 'schema' });
    expect((await raw.request('schema.register', { shard: 0, subject: 'x'.repeat(256), schema: '{}', format: 'JSON' })).err).toMatchObject({ code: 'BAD_REQUEST', field: 'subject' });

    let seed = 4242;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const values: unknown[] = [0, -1, 1.5, 2 ** 53, 1n, (1n << 64n) - 1n, 'x', '', null, true, [], {}, 'AVRO', 'JSON', '{}', '[[[[', 'ü'.repeat(300), '\u0000', new Uint8Array(8), mine];
    const pick = () => values[Math.floor(rnd() * values.length)];
    const ops = ['schema.register', 'schema.get', 'schema.versions', 'schema.latest'];
    const replies = [];
    for (let i = 0; i < 400; i++) replies.push(raw.request(ops[i % ops.length]!, { shard: pick(), subject: pick(), schema: pick(), format: pick(), schemaId: pick() }));
    const allowed = ['BAD_REQUEST', 'NOT_OWNER', 'SCHEMA_NOT_FOUND'];
    for (const reply of await Promise.all(replies)) expect(reply.ok !== undefined || allowed.includes(reply.err!.code)).toBe(true);
    expect((await client.schemas.register(mine, '{"after":"hostile"}', 'JSON')).version).toBeGreaterThanOrEqual(1);
  });

  it('answers SCHEMA_LIMIT past --max-versions', async () => {
    const subject = subjectsFor(3, 1, 'it-limit')[0]!;
    for (let v = 1; v <= 20; v++) await client.schemas.register(subject, `{"v":${v}}`, 'JSON');
    await expect(client.schemas.register(subject, '{"v":21}', 'JSON')).rejects.toMatchObject({ code: 'SCHEMA_LIMIT' });
    expect(await client.schemas.register(subject, '{"v":7}', 'JSON')).toMatchObject({ version: 7 });
  });
});

describe('schema-registry across a SIGKILL', () => {
  afterEach(() => node.cleanup());

  it('keeps every acknowledged registration, answers the same id for the same schema, and issues larger ids after', async () => {
    await node.start();
    const client = await PharaohClient.connect({ endpoints: [node.app!.url] }, { timeoutMs: 2_000 });
    const subjects = SHARDS.flatMap((s) => subjectsFor(s, 3, 'it-kill'));
    const acked = new Map<string, { subject: string; schema: string; schemaId: bigint; version: number }>();
    const maxPerShard = new Map<number, bigint>();
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const subject = subjects[(w + i) % subjects.length]!;
        // Some repeats: schema n of a subject is registered by several workers.
        const schema = `{"worker":${w % 4},"n":${i % 15}}`;
        const r = await client.schemas.register(subject, schema, 'JSON').catch(() => undefined);
        if (r === undefined) return;
        const key = `${subject} ${schema}`;
        const before = acked.get(key);
        if (before !== undefined) expect(r).toEqual({ schemaId: before.schemaId, version: before.version });
        acked.set(key, { subject, schema, ...r });
        const shard = SCHEMA_LAYOUT.shardOf(r.schemaId);
        if ((maxPerShard.get(shard) ?? -1n) < r.schemaId) maxPerShard.set(shard, r.schemaId);
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    for (let i = 0; i < 400 && acked.size < 150; i++) await new Promise((r) => setTimeout(r, 25));
    expect(acked.size).toBeGreaterThan(30);
    await node.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await client.close();

    await node.start();
    const c2 = await PharaohClient.connect({ endpoints: [node.app!.url] });
    try {
      const ids = new Set<bigint>();
      for (const a of acked.values()) {
        expect(await c2.schemas.get(a.schemaId)).toEqual({ subject: a.subject, version: a.version, schema: a.schema, format: 'JSON' });
        expect(await c2.schemas.register(a.subject, a.schema, 'JSON')).toEqual({ schemaId: a.schemaId, version: a.version });
        ids.add(a.schemaId);
      }
      expect(ids.size).toBe(acked.size);
      for (const subject of subjects) {
        const r = await c2.schemas.register(subject, '{"fresh":true}', 'JSON');
        const shard = SCHEMA_LAYOUT.shardOf(r.schemaId);
        expect(r.schemaId).toBeGreaterThan(maxPerShard.get(shard) ?? -1n);
        const versions = (await c2.schemas.versions(subject)).map((v) => v.version);
        expect(versions).toEqual([...versions].sort((x, y) => x - y));
        expect(r.version).toBe(versions[versions.length - 1]);
      }
    } finally {
      await c2.close();
    }
  });
});
