/**
 * The client against the real apps, one child process each: kill one process
 * mid-load and check that fresh-ID calls keep succeeding through the others,
 * that each caller's IDs keep increasing, and that follow-up calls for the dead
 * process's shards time out with a typed error, then work again after restart.
 */
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetConflictError, PharaohClient, TimeoutError, type StatusEvent } from '../src/index.js';
import { cleanupApps, killApp, startApp, tempDir, type App } from './apps.js';
import { expectIncreasing } from './helpers.js';

afterAll(cleanupApps, 60_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `callers` loops of `fn` until `stop()`; each loop's results in order. */
function load<T>(callers: number, fn: () => Promise<T>): { results: T[][]; errors: unknown[]; stop: () => Promise<void> } {
  const results: T[][] = Array.from({ length: callers }, () => []);
  const errors: unknown[] = [];
  let stopped = false;
  const loops = results.map(async (mine) => {
    while (!stopped) {
      try {
        mine.push(await fn());
      } catch (e) {
        errors.push(e);
      }
    }
  });
  return {
    results,
    errors,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await sleep(20);
}

/** A key whose shard lies in [lo, hi]. */
function keyIn(lo: number, hi: number, prefix = 'k'): string {
  for (let i = 0; ; i++) {
    const s = shardForKey(`${prefix}${i}`);
    if (s >= lo && s <= hi) return `${prefix}${i}`;
  }
}

async function pair(service: 'tso' | 'txcoord' | 'session-mgr'): Promise<[App, App]> {
  return Promise.all([startApp(service, '0-3', tempDir()), startApp(service, '4-7', tempDir())]);
}

describe('against real tso processes', () => {
  it('keeps timestamps coming and increasing per caller while one process is SIGKILLed and restarted', async () => {
    const [a, b] = await pair('tso');
    const client = await PharaohClient.connect(
      { fleet: { services: { tso: [{ endpoint: a.url, shards: '0-3' }, { endpoint: b.url, shards: '4-7' }] } } },
      { timeoutMs: 10_000, reconnect: { initialMs: 50, maxMs: 500, jitter: 0.5 } },
    );
    const events: StatusEvent[] = [];
    client.on('status', (e) => events.push(e));
    try {
      const run = load(32, () => client.tso.next());
      await sleep(500);
      await killApp(a);
      const atKill = run.results.map((r) => r.length);
      await sleep(1_000);
      const restarted = await startApp('tso', '0-3', a.dataDir, a.port);
      await waitFor(() => events.some((e) => e.type === 'reconnect'), 15_000);
      await sleep(500);
      await run.stop();
      const all = run.results.flat();
      expect(run.errors).toEqual([]);
      expect(new Set(all).size).toBe(all.length);
      for (const [i, mine] of run.results.entries()) {
        expect(mine.length).toBeGreaterThan(atKill[i]!);
        expectIncreasing(mine);
      }
      // After the restart the killed process's shards serve again, above everything before the crash.
      expect(events.map((e) => e.type)).toEqual(['disconnect', 'reconnect']);
      const fromRestarted = await Promise.all([0, 1, 2, 3].map((s) => client.tso.next({ key: keyIn(s, s) })));
      const maxBefore = all.reduce((m, x) => (x > m ? x : m), 0n);
      for (const [s, id] of fromRestarted.entries()) {
        expect(TSO_LAYOUT.shardOf(id)).toBe(s);
        expect(id > maxBefore).toBe(true);
      }
      await killApp(restarted);
    } finally {
      await client.close();
      await killApp(b);
    }
  }, 90_000);
});

describe('discovery and batching against real tso processes', () => {
  it('refuses two processes that claim the same shard, naming both', async () => {
    const [a, b] = await Promise.all([startApp('tso', '0-3', tempDir()), startApp('tso', '3-5', tempDir())]);
    try {
      const err = await PharaohClient.connect({ endpoints: [a.url, b.url] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FleetConflictError);
      // Whichever hello arrives first keeps the shard, so the two URLs may come in either order.
      const msg = (err as Error).message;
      expect([
        `fleet refused: ${a.url} and ${b.url} both claim shard 3 of service tso`,
        `fleet refused: ${b.url} and ${a.url} both claim shard 3 of service tso`,
      ]).toContain(msg);
    } finally {
      await Promise.all([killApp(a), killApp(b)]);
    }
  }, 60_000);

  it('coalesces 2000 concurrent next() calls into a few ts.get requests (counted by the server)', async () => {
    const a = await startApp('tso', '0-7', tempDir());
    const client = await PharaohClient.connect({ endpoints: [a.url] });
    try {
      const before = await tsGets(a.http);
      const key = keyIn(5, 5);
      const ids = await Promise.all(Array.from({ length: 2000 }, () => client.tso.next({ key })));
      const requests = (await tsGets(a.http)) - before;
      expect(new Set(ids).size).toBe(2000);
      expectIncreasing(ids); // one shard, split in call order
      expect(requests).toBeGreaterThanOrEqual(1);
      expect(requests).toBeLessThanOrEqual(10);
    } finally {
      await client.close();
      await killApp(a);
    }
  }, 60_000);
});

/** ts.get requests the server answered, from its /metrics. */
async function tsGets(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('pharaoh_requests_total{') && l.includes('op="ts.get"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('against real txcoord and session-mgr processes', () => {
  it('fails fresh begins and opens over to the live process; follow-ups for the dead one time out, then work after restart', async () => {
    const [[ta, tb], [sa, sb]] = await Promise.all([pair('txcoord'), pair('session-mgr')]);
    const client = await PharaohClient.connect(
      { endpoints: [ta.url, tb.url, sa.url, sb.url] },
      { timeoutMs: 2_000, reconnect: { initialMs: 50, maxMs: 500, jitter: 0.5 } },
    );
    try {
      // A transaction and a named producer session that live on the processes we will kill.
      const tx = await client.tx.begin({ key: keyIn(0, 3) });
      const { commitTs } = await client.tx.commit(tx.txId);
      const producer = keyIn(0, 3, 'producer-');
      const s1 = await client.sessions.open({ producer });
      expect(SESSION_LAYOUT.shardOf(s1.sessionId)).toBe(shardForKey(producer));

      // Paced: open transactions and sessions stay far below the servers' per-shard limits.
      const paced = async <T>(fn: () => Promise<T>): Promise<T> => {
        await sleep(2);
        return fn();
      };
      const begins = load(8, () => paced(() => client.tx.begin()));
      const opens = load(8, () => paced(() => client.sessions.open()));
      await sleep(400);
      await Promise.all([killApp(ta), killApp(sa)]);
      const atKill = [begins.results.map((r) => r.length), opens.results.map((r) => r.length)];
      // Follow-ups for the dead shards retry until their timeout, then reject with the caller's frame.
      const statusErr = await (async function askStatusOfDeadShard() {
        return client.tx.status(tx.txId).catch((e: unknown) => e);
      })();
      expect(statusErr).toBeInstanceOf(TimeoutError);
      expect((statusErr as Error).stack).toContain('askStatusOfDeadShard');
      await sleep(300);
      await Promise.all([begins.stop(), opens.stop()]);

      expect(begins.errors).toEqual([]);
      expect(opens.errors).toEqual([]);
      for (const [i, mine] of begins.results.entries()) {
        expect(mine.length).toBeGreaterThan(atKill[0]![i]!);
        expectIncreasing(mine.map((t) => t.txId));
      }
      for (const [i, mine] of opens.results.entries()) {
        expect(mine.length).toBeGreaterThan(atKill[1]![i]!);
        expectIncreasing(mine.map((s) => s.sessionId));
      }
      const txIds = begins.results.flat().map((t) => t.txId);
      expect(new Set(txIds).size).toBe(txIds.length);
      const late = begins.results.flatMap((r, i) => r.slice(atKill[0]![i]! + 1));
      for (const t of late) expect(TX_LAYOUT.shardOf(t.txId)).toBeGreaterThanOrEqual(4);

      // Restart on the same ports: the client reconnects; decisions and fencing survived the crash.
      await Promise.all([startApp('txcoord', '0-3', ta.dataDir, ta.port), startApp('session-mgr', '0-3', sa.dataDir, sa.port)]);
      expect(await retry(() => client.tx.status(tx.txId))).toBe('COMMITTED');
      expect(await client.tx.commit(tx.txId)).toEqual({ commitTs });
      const s2 = await client.sessions.open({ producer });
      expect(s2.sessionId).toBe(s1.sessionId);
      expect(s2.epoch).toBeGreaterThan(s1.epoch);
      expect(await client.sessions.validate(s1)).toBe('FENCED');
      expect(await client.sessions.validate(s2)).toBe('OK');
    } finally {
      await client.close();
    }
  }, 90_000);
});

/** Retry a call that may time out while a restarted process comes back. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof TimeoutError) || i >= 10) throw e;
    }
  }
}
