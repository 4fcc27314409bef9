/**
 * The sequencer as a real process (one child, loopback, port 0), driven
 * through @pharaoh/client (`client.cdc.next`, `client.offsets.assign`) and a
 * raw client for bad input. Fault model of the restart test: process death
 * (SIGKILL, by pid) in a stream of calls; invariants: no CDC id issued twice,
 * each table's ids above every id acknowledged before, each partition resumes
 * at or above every offset acknowledged before, dense within each life.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PharaohClient } from '@pharaoh/client';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import { DataDirApp, DropProxy, killAll, REPO_ROOT, type RawClient } from '@pharaoh/testkit';
import { keysFor } from './helpers.js';

const MAIN = join(REPO_ROOT, 'apps/sequencer/src/main.ts');
const ARGS = ['--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--shards', '0-3', '--log-level', 'warn'];
const TABLES = [...keysFor(0, 1, 'table'), ...keysFor(3, 1, 'table')];
const PARTITIONS = [...keysFor(1, 1, 'partition'), ...keysFor(2, 1, 'partition')];

const node = new DataDirApp(MAIN, ARGS, 'sequencer-it-');
afterAll(killAll);

function connect(url: string): Promise<PharaohClient> {
  return PharaohClient.connect({ endpoints: [url] }, { timeoutMs: 10_000 });
}

describe('sequencer over WebSocket, through the client', () => {
  let raw: RawClient;
  let client: PharaohClient;
  beforeAll(async () => {
    raw = await node.start();
    client = await connect(node.app!.url);
  });
  afterAll(async () => {
    await client.close();
    await node.cleanup();
  });

  it('cdc.next: concurrent calls are batched into ranges, unique, strictly increasing per table, on the table\'s shard', async () => {
    const got = await Promise.all(Array.from({ length: 400 }, (_, i) => client.cdc.next(TABLES[i % 2]!, 1 + (i % 3))));
    const all: bigint[] = [];
    for (const [i, r] of got.entries()) {
      expect(r.count).toBeGreaterThanOrEqual(1);
      expect(r.count).toBeLessThanOrEqual(1 + (i % 3));
      for (let k = 0; k < r.count; k++) all.push(r.first + BigInt(k));
      expect(CDC_LAYOUT.shardOf(r.first)).toBe(i % 2 === 0 ? 0 : 3);
    }
    expect(new Set(all).size).toBe(all.length);
    // Calls of one table resolve in call order with increasing ids.
    for (const t of [0, 1]) {
      const mine = got.filter((_, i) => i % 2 === t);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.first).toBeGreaterThan(mine[i - 1]!.first + BigInt(mine[i - 1]!.count - 1));
    }
    const later = await client.cdc.next(TABLES[0]!);
    expect(later.count).toBe(1);
    expect(later.first).toBeGreaterThan(all.filter((id) => CDC_LAYOUT.shardOf(id) === 0).reduce((a, b) => (a > b ? a : b)));
  });

  it('offsets.assign: concurrent calls get exactly their counts, dense per partition from 0', async () => {
    const counts = Array.from({ length: 300 }, (_, i) => 1 + ((i * 7) % 11));
    const got = await Promise.all(counts.map((n, i) => client.offsets.assign(PARTITIONS[i % 2]!, n)));
    for (const p of [0, 1]) {
      const mine = got.filter((_, i) => i % 2 === p);
      const want = counts.filter((_, i) => i % 2 === p);
      let at = 0;
      for (const [k, r] of mine.entries()) {
        expect(r).toEqual({ first: at, count: want[k] });
        at += r.count;
      }
    }
  });

  it('refuses bad input with BAD_REQUEST or NOT_OWNER, and keeps serving', async () => {
    const [p1] = PARTITIONS as [string];
    expect((await raw.request('offsets.assign', { shard: 1, partition: p1, count: 0 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('offsets.assign', { shard: 1, partition: p1 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('offsets.assign', { shard: 1, partition: '', count: 1 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('offsets.assign', { shard: 1, partition: 'x'.repeat(300), count: 1 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('offsets.assign', { shard: 1, partition: p1, count: 65_537 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('offsets.assign', { shard: 1, partition: 7, count: 1 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('cdc.next', { shard: 0, table: TABLES[0], count: 1.5 })).err?.code).toBe('BAD_REQUEST');
    expect((await raw.request('cdc.next', { shard: 0 })).err?.code).toBe('BAD_REQUEST');
    // The idempotency token: both halves or neither, each a uint.
    for (const [args, field] of [
      [{ producerId: 1 }, 'seq'],
      [{ seq: 1 }, 'producerId'],
      [{ producerId: -1, seq: 1 }, 'producerId'],
      [{ producerId: 1, seq: 'x' }, 'seq'],
      [{ producerId: 1.5, seq: 1 }, 'producerId'],
      [{ producerId: 1, seq: 2 ** 53 }, 'seq'],
    ] as const) {
      const res = await raw.request('offsets.assign', { shard: 1, partition: p1, count: 1, ...args });
      expect(res.err).toMatchObject({ code: 'BAD_REQUEST', field });
      expect(res.err?.message).toContain(field);
    }
    const wrong = await raw.request('offsets.assign', { shard: 2, partition: p1, count: 1 });
    expect(wrong.err).toMatchObject({ code: 'NOT_OWNER', shard: 1 });
    expect((await raw.request('cdc.next', { shard: 1, table: TABLES[0] })).err).toMatchObject({ code: 'NOT_OWNER', shard: 0 });
    expect((await raw.request('cdc.next', { shard: 9, table: TABLES[0] })).err?.code).toBe('NOT_OWNER');
    await expect(client.offsets.assign('', 1)).rejects.toThrow(/partition must be a string/);
    await expect(client.cdc.next(TABLES[0]!, 0)).rejects.toThrow(/count must be an integer/);
    const ok = await raw.ok<{ first: bigint; count: number }>('cdc.next', { shard: 0, table: TABLES[0] });
    expect(ok.count).toBe(1);
  });
});

describe('offsets.assign idempotency tokens over the wire', () => {
  let raw: RawClient;
  beforeAll(async () => {
    raw = await node.start();
  });
  afterAll(() => node.cleanup());

  it('answers the same token with the same range, an older seq with OFFSETS_STALE_SEQ, and no token as before', async () => {
    const p = PARTITIONS[0]!;
    const first = await raw.ok<{ first: number; count: number }>('offsets.assign', { shard: 1, partition: p, count: 4, producerId: 42, seq: 10 });
    expect(await raw.ok('offsets.assign', { shard: 1, partition: p, count: 4, producerId: 42, seq: 10 })).toEqual(first);
    const next = await raw.ok<{ first: number; count: number }>('offsets.assign', { shard: 1, partition: p, count: 2, producerId: 42, seq: 11 });
    expect(next.first).toBe(first.first + 4);
    const stale = await raw.request('offsets.assign', { shard: 1, partition: p, count: 4, producerId: 42, seq: 10 });
    expect(stale.err?.code).toBe('OFFSETS_STALE_SEQ');
    expect((await raw.request('offsets.assign', { shard: 1, partition: p, count: 3, producerId: 42, seq: 11 })).err).toMatchObject({ code: 'BAD_REQUEST', field: 'count' });
    const plain = await raw.ok<{ first: number; count: number }>('offsets.assign', { shard: 1, partition: p, count: 1 });
    expect(plain.first).toBe(next.first + 2);
    expect((await raw.ok<{ first: number; count: number }>('offsets.assign', { shard: 1, partition: p, count: 1 })).first).toBe(plain.first + 1);
  });
});

describe('client.offsets.assign: a retry after a lost answer gets the same range', () => {
  afterEach(() => node.cleanup());

  it('when the connection dropped with the answer on its way', async () => {
    await node.start();
    const proxy = await DropProxy.start(node.app!.url);
    const client = await connect(proxy.url);
    try {
      const p = PARTITIONS[0]!;
      expect(await client.offsets.assign(p, 3)).toEqual({ first: 0, count: 3 });
      proxy.dropAnswer = (op) => op === 'offsets.assign';
      const r = await client.offsets.assign(p, 5);
      expect(proxy.dropped).toHaveLength(1);
      const lost = proxy.dropped[0]!;
      // The server had assigned (and answered) this range; the client never saw it, retried with the same token, got it again.
      expect(lost.answer['ok']).toEqual({ first: 3, count: 5 });
      expect(lost.request).toMatchObject({ producerId: client.offsets.producerId });
      expect(r).toEqual({ first: 3, count: 5 });
      expect(proxy.connections).toBeGreaterThanOrEqual(2);
      // Dense: no hole where the lost answer's range was.
      expect(await client.offsets.assign(p, 1)).toEqual({ first: 8, count: 1 });
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('when the server was SIGKILLed after journaling the range, before the client heard of it', async () => {
    await node.start();
    const proxy = await DropProxy.start(node.app!.url);
    proxy.blockAfterDrop = true;
    const client = await connect(proxy.url);
    try {
      const p = PARTITIONS[1]!;
      expect(await client.offsets.assign(p, 2)).toEqual({ first: 0, count: 2 });
      proxy.dropAnswer = (op) => op === 'offsets.assign';
      const call = client.offsets.assign(p, 7);
      const lost = await proxy.nextDrop();
      expect(lost.answer['ok']).toEqual({ first: 2, count: 7 });
      // The answer means its record was fdatasync'd; the process dies before the retry reaches it.
      await node.stop('SIGKILL');
      await node.start();
      proxy.upstream = node.app!.url;
      expect(await call).toEqual({ first: 2, count: 7 });
      expect(await client.offsets.assign(p, 1)).toEqual({ first: 9, count: 1 });
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('sequencer across a SIGKILL', () => {
  afterEach(() => node.cleanup());

  it('never hands out an acknowledged offset or CDC id again, and resumes each partition without skipping more than was in flight', async () => {
    await node.start();
    let client = await connect(node.app!.url);
    const acked = new Map<string, number>(PARTITIONS.map((p) => [p, 0]));
    const cdcMax = new Map<string, bigint>();
    const ids = new Set<bigint>();
    // Checked after the workers stop (an expect inside their try would be swallowed by the catch that ends them at the kill).
    const dupes: bigint[] = [];
    let stop = false;
    let acks = 0;
    const IN_FLIGHT = 8;
    const COUNT = 5;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          if (w % 2 === 0) {
            const p = PARTITIONS[(w / 2) % 2]!;
            const r = await client.offsets.assign(p, COUNT);
            acked.set(p, Math.max(acked.get(p)!, r.first + r.count));
          } else {
            const t = TABLES[i % 2]!;
            const r = await client.cdc.next(t, 3);
            for (let k = 0; k < r.count; k++) {
              const id = r.first + BigInt(k);
              if (ids.has(id)) dupes.push(id);
              ids.add(id);
            }
            const last = r.first + BigInt(r.count - 1);
            if ((cdcMax.get(t) ?? -1n) < last) cdcMax.set(t, last);
          }
          acks++;
        } catch {
          return;
        }
      }
    };
    const workers = Array.from({ length: IN_FLIGHT * 2 }, (_, w) => worker(w));
    for (let i = 0; i < 400 && acks < 2_000; i++) await new Promise((r) => setTimeout(r, 25));
    expect(acks).toBeGreaterThan(100);
    await node.stop('SIGKILL');
    stop = true;
    await client.close();
    await Promise.all(workers);
    expect(dupes).toEqual([]);

    await node.start();
    client = await connect(node.app!.url);
    try {
      for (const p of PARTITIONS) {
        const r = await client.offsets.assign(p, 1);
        expect(r.first).toBeGreaterThanOrEqual(acked.get(p)!);
        // Dense: only ranges in flight at the kill (their answers lost) may be skipped.
        expect(r.first).toBeLessThanOrEqual(acked.get(p)! + IN_FLIGHT * COUNT);
      }
      for (const t of TABLES) {
        const r = await client.cdc.next(t);
        expect(r.first).toBeGreaterThan(cdcMax.get(t)!);
        expect(ids.has(r.first)).toBe(false);
      }
    } finally {
      await client.close();
    }
  });
});
