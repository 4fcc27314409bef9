import { shardForKey } from '@pharaoh/protocol';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import { rig, sent, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.client.close();
  r = undefined;
});

describe('client.cdc.next', () => {
  it('joins concurrent calls of one table into one cdc.next on the table\'s shard and splits the range in call order', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    const got = await Promise.all(Array.from({ length: 300 }, (_, i) => r!.client.cdc.next('orders', 1 + (i % 2))));
    const reqs = sent(node, 'cdc.next');
    expect(reqs).toHaveLength(1);
    expect(reqs[0]).toMatchObject({ shard: shardForKey('orders'), table: 'orders', count: 450 });
    let next = got[0]!.first;
    for (const [i, g] of got.entries()) {
      expect(g).toEqual({ first: next, count: 1 + (i % 2) });
      next += BigInt(g.count);
    }
    expect(CDC_LAYOUT.shardOf(got[0]!.first)).toBe(shardForKey('orders'));
  });

  it('sends different tables as different requests, and asks again for callers a short answer left out', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }], { maxBatchSize: 100_000 });
    const node = r.nodes.get('ws://fake-0')!;
    const [a, b] = await Promise.all([
      Promise.all(Array.from({ length: 10_000 }, () => r!.client.cdc.next('t-a'))),
      Promise.all(Array.from({ length: 3 }, () => r!.client.cdc.next('t-b'))),
    ]);
    // 10 000 ids do not fit one 8192-id time unit: the first answer is short, the rest ride on a second request.
    expect(sent(node, 'cdc.next').filter((q) => q.table === 't-a').length).toBeGreaterThanOrEqual(2);
    expect(sent(node, 'cdc.next').filter((q) => q.table === 't-b')).toHaveLength(1);
    const ids = [...a, ...b].map((x) => x.first);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < a.length; i++) expect(a[i]!.first).toBeGreaterThan(a[i - 1]!.first);
  });

  it('refuses an empty table or a bad count before sending anything', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    await expect(r.client.cdc.next('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.client.cdc.next('t', 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.client.cdc.next('x'.repeat(256))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(sent(r.nodes.get('ws://fake-0')!, 'cdc.next')).toHaveLength(0);
  });
});

describe('client.offsets.assign', () => {
  it('gives each concurrent caller exactly its count, consecutive in call order, from one request per partition', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    const counts = Array.from({ length: 100 }, (_, i) => 1 + (i % 5));
    const got = await Promise.all(counts.map((n, i) => r!.client.offsets.assign(i % 2 === 0 ? 'p-0' : 'p-1', n)));
    expect(sent(node, 'offsets.assign')).toHaveLength(2);
    for (const p of [0, 1]) {
      let at = 0;
      for (const [i, g] of got.entries()) {
        if (i % 2 !== p) continue;
        expect(g).toEqual({ first: at, count: counts[i] });
        at += counts[i]!;
      }
    }
    expect((await r.client.offsets.assign('p-0', 1)).first).toBe(counts.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0));
  });

  it('splits a queue above the server\'s maxCount into several requests, never a caller\'s range', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]], maxCount: 10 }]);
    const node = r.nodes.get('ws://fake-0')!;
    const got = await Promise.all(Array.from({ length: 7 }, () => r!.client.offsets.assign('p', 4)));
    expect(sent(node, 'offsets.assign').map((q) => q.count)).toEqual([8, 8, 8, 4]);
    expect(got.map((g) => g.first)).toEqual([0, 4, 8, 12, 16, 20, 24]);
    // One after the other (one request in flight per partition), each with its own seq.
    expect(node.inFlightPeak).toBe(1);
    const seqs = sent(node, 'offsets.assign').map((q) => q.seq as number);
    expect(new Set(seqs).size).toBe(4);
  });

  it('sends an idempotency token (this client\'s producerId, an increasing seq) and keeps it across the retries of a request', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    expect(await r.client.offsets.assign('p', 1)).toEqual({ first: 0, count: 1 });
    let refusals = 2;
    node.intercept = (q) => (q.op === 'offsets.assign' && refusals-- > 0 ? { code: 'SHARD_UNAVAILABLE' } : undefined);
    const call = r.client.offsets.assign('p', 2);
    await r.clock.advance(500);
    expect(await call).toEqual({ first: 1, count: 2 });
    const reqs = sent(node, 'offsets.assign');
    expect(reqs).toHaveLength(4);
    const producerId = r.client.offsets.producerId;
    expect(Number.isSafeInteger(producerId) && producerId >= 0).toBe(true);
    expect(reqs.map((q) => q.producerId)).toEqual([producerId, producerId, producerId, producerId]);
    const [s0, s1, s2, s3] = reqs.map((q) => q.seq as number) as [number, number, number, number];
    expect(s1).toBeGreaterThan(s0);
    expect([s2, s3]).toEqual([s1, s1]);
  });

  it('gets the same range when the connection drops after the server assigned it (the answer lost)', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    expect(await r.client.offsets.assign('p', 3)).toEqual({ first: 0, count: 3 });
    let drops = 1;
    // The node assigns (it handles the request after the interceptor), but the socket is gone before its answer leaves.
    node.intercept = (q) => {
      if (q.op === 'offsets.assign' && drops-- > 0) r!.transport.kill('ws://fake-0');
      return undefined;
    };
    const call = r.client.offsets.assign('p', 4);
    await new Promise((res) => setImmediate(res));
    r.transport.up('ws://fake-0');
    for (let i = 0; i < 20 && sent(node, 'offsets.assign').length < 3; i++) await r.clock.advance(500);
    expect(await call).toEqual({ first: 3, count: 4 });
    const reqs = sent(node, 'offsets.assign');
    expect(reqs).toHaveLength(3);
    expect(reqs[2]!.seq).toBe(reqs[1]!.seq);
    // No hole: the next range starts right after the one whose answer was lost.
    expect(await r.client.offsets.assign('p', 1)).toEqual({ first: 7, count: 1 });
  });

  it('keeps one request in flight per partition: callers meanwhile wait and leave together in the next one', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    const a = r.client.offsets.assign('p', 1);
    await new Promise((res) => setImmediate(res));
    // The first request is on its way; these three queue behind it and go as one request.
    const rest = [r.client.offsets.assign('p', 2), r.client.offsets.assign('p', 3), r.client.offsets.assign('p', 4)];
    expect(await a).toEqual({ first: 0, count: 1 });
    expect(await Promise.all(rest)).toEqual([{ first: 1, count: 2 }, { first: 3, count: 3 }, { first: 6, count: 4 }]);
    expect(sent(node, 'offsets.assign').map((q) => q.count)).toEqual([1, 9]);
    expect(node.inFlightPeak).toBe(1);
  });

  it('hands a server error to every caller of the batch', async () => {
    r = await rig([{ service: 'sequencer', shards: [[0, 1023]] }]);
    r.nodes.get('ws://fake-0')!.intercept = (q) => (q.op === 'offsets.assign' ? { code: 'BAD_REQUEST', details: { field: 'count' } } : undefined);
    const calls = Array.from({ length: 3 }, () => r!.client.offsets.assign('p', 1));
    for (const c of calls) await expect(c).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
