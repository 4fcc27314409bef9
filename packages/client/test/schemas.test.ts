import { shardForKey } from '@pharaoh/protocol';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, SchemaLimitError, SchemaNotFoundError } from '../src/index.js';
import { rig, sent, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.client.close();
  r = undefined;
});

describe('client.schemas', () => {
  it("sends a subject's calls to shardForKey(subject) and get to the shard in the schemaId's bits", async () => {
    r = await rig([{ service: 'schema-registry', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    node.intercept = (req) => (req.op === 'ping' ? undefined : { code: 'SCHEMA_NOT_FOUND' });
    await expect(r.client.schemas.register('orders-value', '{}', 'JSON')).rejects.toBeInstanceOf(SchemaNotFoundError);
    await expect(r.client.schemas.latest('orders-value')).rejects.toBeInstanceOf(SchemaNotFoundError);
    await expect(r.client.schemas.versions('orders-value')).rejects.toBeInstanceOf(SchemaNotFoundError);
    const id = SCHEMA_LAYOUT.encode({ time: 31_536_000_000, shard: 77, seq: 3 });
    await expect(r.client.schemas.get(id)).rejects.toBeInstanceOf(SchemaNotFoundError);
    const home = shardForKey('orders-value');
    expect(sent(node, 'schema.register')).toEqual([expect.objectContaining({ shard: home, subject: 'orders-value', schema: '{}', format: 'JSON' })]);
    expect(sent(node, 'schema.latest')[0]).toMatchObject({ shard: home, subject: 'orders-value' });
    expect(sent(node, 'schema.versions')[0]).toMatchObject({ shard: home, subject: 'orders-value' });
    expect(sent(node, 'schema.get')[0]).toMatchObject({ schemaId: id });
    // A domain answer is final: no retry on another shard.
    expect(sent(node, 'schema.register')).toHaveLength(1);
  });

  it('maps SCHEMA_LIMIT to SchemaLimitError and refuses bad arguments before sending anything', async () => {
    r = await rig([{ service: 'schema-registry', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    node.intercept = (req) => (req.op === 'ping' ? undefined : { code: 'SCHEMA_LIMIT' });
    await expect(r.client.schemas.register('s', '{}', 'AVRO')).rejects.toBeInstanceOf(SchemaLimitError);
    const before = node.requests.length;
    await expect(r.client.schemas.register('', '{}', 'AVRO')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.client.schemas.register('x'.repeat(256), '{}', 'AVRO')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.client.schemas.register('s', '', 'AVRO')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.client.schemas.latest(3 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.client.schemas.versions('')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(node.requests.length).toBe(before);
  });
});
