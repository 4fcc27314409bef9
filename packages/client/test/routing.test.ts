import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import { checkIds, expectIncreasing, keyFor, rig, sent, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.client.close();
  r = undefined;
});

describe('automatic batching', () => {
  it('coalesces concurrent next() calls of one turn into one ts.get and splits the range in call order', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    const ids = await Promise.all(Array.from({ length: 500 }, () => r!.client.tso.next()));
    const gets = sent(node, 'ts.get');
    expect(gets).toHaveLength(1);
    expect(gets[0]!.count).toBe(500);
    expectIncreasing(ids);
    expect(ids[499]! - ids[0]!).toBe(499n);
    checkIds(ids);
  });

  it('asks again for the remainder when the server returns fewer IDs than requested', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }], { maxBatchSize: 100_000 });
    const node = r.nodes.get('ws://fake-0')!;
    // 20 000 IDs from one shard cannot fit one 8192-ID time unit: the server answers short.
    const ids = await Promise.all(Array.from({ length: 20_000 }, () => r!.client.tso.next({ key: 'k' })));
    const gets = sent(node, 'ts.get');
    expect(gets.length).toBeGreaterThanOrEqual(3);
    expect(gets[0]!.count).toBe(20_000);
    expectIncreasing(ids);
    checkIds(ids);
  });

  it('splits a queue larger than maxBatchSize into several requests', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }], { maxBatchSize: 64 });
    const node = r.nodes.get('ws://fake-0')!;
    const ids = await Promise.all(Array.from({ length: 200 }, () => r!.client.tso.next({ key: 'same' })));
    expect(sent(node, 'ts.get').map((g) => g.count)).toEqual([64, 64, 64, 8]);
    expectIncreasing(ids);
  });

  it('sends a full batch at once, without waiting for the end of the turn', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }], { maxBatchSize: 64 });
    const node = r.nodes.get('ws://fake-0')!;
    const calls = Array.from({ length: 200 }, () => r!.client.tso.next());
    // Still in the turn that made the calls: the three full batches have left, the last 8 wait.
    expect(sent(node, 'ts.get').map((g) => g.count)).toEqual([64, 64, 64]);
    const ids = await Promise.all(calls);
    expect(sent(node, 'ts.get').map((g) => g.count)).toEqual([64, 64, 64, 8]);
    expectIncreasing(ids);
    checkIds(ids);
  });

  it('caps a batch at the maxCount the server announced in its hello', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]], maxCount: 10 }]);
    const node = r.nodes.get('ws://fake-0')!;
    await Promise.all(Array.from({ length: 25 }, () => r!.client.tso.next({ key: 'x' })));
    expect(sent(node, 'ts.get').map((g) => g.count)).toEqual([10, 10, 5]);
  });

  it('serves range(n) callers and next() callers from one batch with consecutive IDs', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }]);
    const [a, b, c] = await Promise.all([r.client.tso.next({ key: 'k' }), r.client.tso.range(10, { key: 'k' }), r.client.tso.next({ key: 'k' })]);
    expect(b.count).toBe(10);
    expect(b.first).toBe(a + 1n);
    expect(c).toBe(b.first + 10n);
  });
});

describe('routing', () => {
  it('sends a keyed call to shardForKey(key), hosted by the endpoint that claims it', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 511]] },
      { service: 'tso', shards: [[512, 1023]] },
    ]);
    for (const key of ['orders', 'payments', 'users-17', 'é']) {
      const id = await r.client.tso.next({ key });
      expect(TSO_LAYOUT.shardOf(id)).toBe(shardForKey(key));
      const node = r.nodes.get(shardForKey(key) < 512 ? 'ws://fake-0' : 'ws://fake-1')!;
      expect(sent(node, 'ts.get').at(-1)!.shard).toBe(shardForKey(key));
    }
  });

  it('by default keeps keyless calls on one home shard while it is healthy, then moves and stays monotonic', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 1]] },
      { service: 'tso', shards: [[2, 3]] },
    ]);
    const ids: bigint[] = [];
    for (let i = 0; i < 8; i++) ids.push(await r.client.tso.next());
    const home = TSO_LAYOUT.shardOf(ids[0]!);
    expect(new Set(ids.map((id) => TSO_LAYOUT.shardOf(id)))).toEqual(new Set([home]));
    // The home shard's storage fails: it answers SHARD_UNAVAILABLE and is quarantined.
    const owner = r.nodes.get(home < 2 ? 'ws://fake-0' : 'ws://fake-1')!;
    owner.intercept = (req) => (req.op === 'ts.get' && req.shard === home ? { code: 'SHARD_UNAVAILABLE' } : undefined);
    const after: bigint[] = [];
    for (let i = 0; i < 8; i++) after.push(await r.client.tso.next());
    const moved = new Set(after.map((id) => TSO_LAYOUT.shardOf(id)));
    expect(moved.size).toBe(1);
    expect(moved.has(home)).toBe(false);
    expectIncreasing([...ids, ...after]);
  });

  it('with round-robin, spreads keyless batches over the shards and keeps the IDs increasing', async () => {
    r = await rig(
      [
        { service: 'tso', shards: [[0, 1]] },
        { service: 'tso', shards: [[2, 3]] },
      ],
      { policy: 'round-robin' },
    );
    const ids: bigint[] = [];
    for (let i = 0; i < 8; i++) ids.push(await r.client.tso.next());
    const shards = ids.map((id) => TSO_LAYOUT.shardOf(id));
    expect(new Set(shards)).toEqual(new Set([0, 1, 2, 3]));
    expectIncreasing(ids);
  });

  it('with least-in-flight, sends keyless work to the endpoint with fewer requests outstanding', async () => {
    r = await rig(
      [
        { service: 'tso', shards: [[0, 0]] },
        { service: 'tso', shards: [[1, 1]] },
      ],
      { policy: 'least-in-flight' },
    );
    const busy = r.nodes.get('ws://fake-0')!;
    busy.intercept = (req) => (req.op === 'ts.get' ? 'hang' : undefined);
    // Occupy fake-0 with a keyed call that never returns, then make keyless calls.
    void r.client.tso.next({ key: keyFor(0) }).catch(() => {});
    await new Promise((res) => setImmediate(res));
    for (let i = 0; i < 5; i++) expect(TSO_LAYOUT.shardOf(await r.client.tso.next())).toBe(1);
  });

  it('sends follow-up transaction calls to the shard in the TxId bits', async () => {
    r = await rig([
      { service: 'txcoord', shards: [[0, 511]] },
      { service: 'txcoord', shards: [[512, 1023]] },
    ]);
    const { txId } = await r.client.tx.begin({ key: keyFor(700) });
    expect(TX_LAYOUT.shardOf(txId)).toBe(700);
    expect(await r.client.tx.status(txId)).toBe('ACTIVE');
    const { commitTs } = await r.client.tx.commit(txId);
    expect(commitTs).toBe(txId + 1n);
    expect(await r.client.tx.status(txId)).toBe('COMMITTED');
    const second = r.nodes.get('ws://fake-1')!;
    expect(second.requests.map((q) => q.op)).toEqual(['tx.begin', 'tx.status', 'tx.commit', 'tx.status']);
    expect(r.nodes.get('ws://fake-0')!.requests).toHaveLength(0);
  });

  it('opens a named producer session on shardForKey(producer) and fences the old epoch on reopen', async () => {
    r = await rig([
      { service: 'session-mgr', shards: [[0, 511]] },
      { service: 'session-mgr', shards: [[512, 1023]] },
    ]);
    const s1 = await r.client.sessions.open({ producer: 'orders-writer' });
    expect(SESSION_LAYOUT.shardOf(s1.sessionId)).toBe(shardForKey('orders-writer'));
    const s2 = await r.client.sessions.open({ producer: 'orders-writer' });
    expect(s2.sessionId).toBe(s1.sessionId);
    expect(s2.epoch).toBeGreaterThan(s1.epoch);
    expect(await r.client.sessions.validate(s1)).toBe('FENCED');
    expect(await r.client.sessions.validate(s2)).toBe('OK');
    await r.client.sessions.heartbeat(s2);
    await r.client.sessions.close(s2);
    expect(await r.client.sessions.validate(s2)).toBe('UNKNOWN');
  });

  it('passes after = the largest ID seen, so IDs from different shards still increase per client', async () => {
    // fake-1's clock runs an hour behind: without `after`, its IDs would be smaller.
    r = await rig([
      { service: 'tso', shards: [[0, 0]] },
      { service: 'tso', shards: [[1, 1]], now: () => Date.now() - 3_600_000 },
    ]);
    const a = await r.client.tso.next({ key: keyFor(0) });
    const b = await r.client.tso.next({ key: keyFor(1) });
    expect(b > a).toBe(true);
    expect(sent(r.nodes.get('ws://fake-1')!, 'ts.get')[0]!.after).toBe(a);
  });

  it('keeps requests per connection within the maxInFlight the server announced', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]], maxInFlight: 3 }]);
    const txs = await Promise.all(Array.from({ length: 40 }, () => r!.client.tx.begin()));
    expect(new Set(txs.map((t) => t.txId)).size).toBe(40);
    expect(r.nodes.get('ws://fake-0')!.inFlightPeak).toBeLessThanOrEqual(3);
  });
});

