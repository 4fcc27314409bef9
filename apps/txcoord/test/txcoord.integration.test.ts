import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TX_LAYOUT } from '@pharaoh/snowflake';
import { DataDirApp, killAll, REPO_ROOT, type RawClient } from '@pharaoh/testkit';

const MAIN = join(REPO_ROOT, 'apps/txcoord/src/main.ts');
const SHARDS = [0, 1, 2, 3];
const ARGS = ['--port', '0', '--http-port', '0', '--shards', '0-3', '--sweep-interval-ms', '50', '--log-level', 'warn'];

// One process on one data directory, restarted on the same data; a fresh directory after each cleanup.
const node = new DataDirApp(MAIN, ARGS, 'txcoord-it-');

afterAll(killAll);

interface Begun {
  txId: bigint;
  startTs: bigint;
  timeoutMs: number;
}

describe('txcoord over WebSocket', () => {
  // One server for the protocol checks: starting a tsx child costs seconds on a loaded machine.
  let c: RawClient;
  beforeAll(async () => {
    c = await node.start();
  });
  afterAll(() => node.cleanup());

  it('speaks the transaction protocol end to end', async () => {
    const tx = await c.ok<Begun>('tx.begin', { shard: 2 });
    expect(TX_LAYOUT.shardOf(tx.txId)).toBe(2);
    expect(tx.startTs).not.toBe(tx.txId);
    expect(await c.ok('tx.status', { txId: tx.txId })).toEqual({ status: 'ACTIVE' });
    expect(await c.ok('tx.heartbeat', { txId: tx.txId })).toEqual({ timeoutMs: tx.timeoutMs });
    const { commitTs } = await c.ok<{ commitTs: bigint }>('tx.commit', { txId: tx.txId });
    expect(commitTs).toBeGreaterThan(tx.startTs);
    expect(await c.ok('tx.commit', { txId: tx.txId })).toEqual({ commitTs });
    expect((await c.request('tx.abort', { txId: tx.txId })).err?.code).toBe('TX_COMMITTED');

    const ab = await c.ok<Begun>('tx.begin', { shard: 0 });
    expect(await c.ok('tx.abort', { txId: ab.txId })).toEqual({});
    expect(await c.ok('tx.abort', { txId: ab.txId })).toEqual({});
    expect((await c.request('tx.commit', { txId: ab.txId })).err?.code).toBe('TX_ABORTED');
    expect((await c.request('tx.heartbeat', { txId: ab.txId })).err?.code).toBe('TX_ABORTED');
    expect(await c.ok('tx.status', { txId: ab.txId })).toEqual({ status: 'ABORTED' });

    const after = tx.txId + (1n << 30n);
    expect((await c.ok<Begun>('tx.begin', { shard: 2, after })).txId).toBeGreaterThan(after);
  });

  it('answers NOT_OWNER for a shard or a txId of a shard it does not host, BAD_REQUEST for malformed fields', async () => {
    const r1 = await c.request('tx.begin', { shard: 9 });
    expect(r1.err?.code).toBe('NOT_OWNER');
    const foreign = TX_LAYOUT.encode({ time: 1_000, shard: 9, seq: 1 });
    expect((await c.request('tx.commit', { txId: foreign })).err?.code).toBe('NOT_OWNER');
    expect((await c.request('tx.status', { txId: 'abc' })).err?.code).toBe('BAD_REQUEST');
    expect((await c.request('tx.begin', { shard: 1, timeoutMs: 5 })).err?.code).toBe('BAD_REQUEST');
    expect((await c.request('session.open', { shard: 1 })).err?.code).toBe('UNKNOWN_OP');
    const ok = await c.ok<Begun>('tx.begin', { shard: 1 });
    expect(await c.ok('tx.status', { txId: ok.txId })).toEqual({ status: 'ACTIVE' });
  });

  it('aborts a transaction that times out without heartbeats (by the sweep timer)', async () => {
    const tx = await c.ok<Begun>('tx.begin', { shard: 3, timeoutMs: 150 });
    let status = 'ACTIVE';
    for (let i = 0; i < 100 && status === 'ACTIVE'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await c.ok<{ status: string }>('tx.status', { txId: tx.txId })).status;
    }
    expect(status).toBe('ABORTED');
    expect((await c.request('tx.commit', { txId: tx.txId })).err?.code).toBe('TX_ABORTED');
  });

  it('stays up and keeps serving after hundreds of hostile but well-framed requests', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const values: unknown[] = [0, -1, 1.5, 2 ** 53, 0n, 1n, (1n << 64n) - 1n, -(1n << 63n), -5n, 'x', '', null, true, [], {}, { a: 1 }, 'ü'.repeat(300), new Uint8Array(8)];
    const pick = () => values[Math.floor(rnd() * values.length)];
    const ops = ['tx.begin', 'tx.commit', 'tx.abort', 'tx.status', 'tx.heartbeat'];
    const replies = [];
    for (let i = 0; i < 400; i++) {
      replies.push(c.request(ops[i % ops.length]!, { shard: pick(), txId: pick(), timeoutMs: pick(), after: pick() }));
    }
    for (const r of await Promise.all(replies)) {
      expect(r.ok !== undefined || ['BAD_REQUEST', 'NOT_OWNER', 'TX_NOT_FOUND', 'TX_ABORTED'].includes(r.err!.code)).toBe(true);
    }
    const tx = await c.ok<Begun>('tx.begin', { shard: 0 });
    expect(await c.ok('tx.commit', { txId: tx.txId })).toHaveProperty('commitTs');
  });
});

describe('txcoord across restarts', () => {
  afterEach(() => node.cleanup());

  it('after SIGKILL in a stream of commits keeps every acknowledged commitTs, aborts the undecided, and issues only larger IDs', async () => {
    const c = await node.start();
    const committed = new Map<bigint, bigint>();
    const neverCommitted = new Set<bigint>();
    const inDoubt = new Set<bigint>();
    const seen: bigint[] = [];
    const maxPerShard = new Map<number, bigint>();
    const note = (id: bigint) => {
      seen.push(id);
      const s = TX_LAYOUT.shardOf(id);
      if ((maxPerShard.get(s) ?? -1n) < id) maxPerShard.set(s, id);
    };
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const r = await c.request('tx.begin', { shard: SHARDS[(w + i) % SHARDS.length] });
        if (!r.ok) return;
        const { txId, startTs } = r.ok as unknown as Begun;
        note(txId);
        note(startTs);
        if (i % 5 === 4) {
          neverCommitted.add(txId);
          continue;
        }
        inDoubt.add(txId);
        const cr = await c.request('tx.commit', { txId });
        if (!cr.ok) return;
        inDoubt.delete(txId);
        const commitTs = cr.ok['commitTs'] as bigint;
        note(commitTs);
        committed.set(txId, commitTs);
      }
    };
    const workers = Array.from({ length: 32 }, (_, w) => worker(w));
    for (let i = 0; i < 400 && committed.size < 400; i++) await new Promise((r) => setTimeout(r, 25));
    expect(committed.size).toBeGreaterThan(50);
    await node.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    c.terminate();

    const c2 = await node.start();
    for (const [txId, commitTs] of committed) {
      expect(await c2.ok('tx.status', { txId })).toEqual({ status: 'COMMITTED' });
      expect(await c2.ok('tx.commit', { txId })).toEqual({ commitTs });
    }
    for (const txId of neverCommitted) {
      expect(await c2.ok('tx.status', { txId })).toEqual({ status: 'ABORTED' });
      expect((await c2.request('tx.commit', { txId })).err?.code).toBe('TX_ABORTED');
    }
    for (const txId of inDoubt) expect(['COMMITTED', 'ABORTED']).toContain((await c2.ok<{ status: string }>('tx.status', { txId })).status);
    for (const shard of SHARDS) {
      const fresh = await c2.ok<Begun>('tx.begin', { shard });
      expect(fresh.txId).toBeGreaterThan(maxPerShard.get(shard) ?? -1n);
      note(fresh.txId);
      note(fresh.startTs);
    }
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('shuts down gracefully on SIGTERM and keeps decisions across a clean restart', async () => {
    const c = await node.start();
    const tx = await c.ok<Begun>('tx.begin', { shard: 1 });
    const { commitTs } = await c.ok<{ commitTs: bigint }>('tx.commit', { txId: tx.txId });
    const open = await c.ok<Begun>('tx.begin', { shard: 1 });
    expect(await node.stop('SIGTERM')).toBe(0);
    const c2 = await node.start();
    expect(await c2.ok('tx.commit', { txId: tx.txId })).toEqual({ commitTs });
    expect(await c2.ok('tx.status', { txId: open.txId })).toEqual({ status: 'ABORTED' });
  });
});
