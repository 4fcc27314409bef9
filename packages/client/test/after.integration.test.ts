/**
 * The client sends `after` = the largest timestamp it has seen on any shard.
 * Under batched range load every ts.get uses up a whole time unit, so shards
 * borrow up to the edge of their lead, and a lower shard must answer one unit
 * past another shard's ID: the server must wait for its clock there, never
 * answer AFTER_TOO_FAR_AHEAD to an `after` the fleet itself issued.
 */
import { afterAll, expect, it } from 'vitest';
import { PharaohClient } from '../src/index.js';
import { cleanupApps, startApp, tempDir } from './apps.js';
import { expectIncreasing, keyFor } from './helpers.js';

afterAll(cleanupApps, 60_000);

const CALLERS = 64;
/** A 1 ms lead, so the shards are at its edge under this load all the time (the default 5 s only after a long burst). */
const LEAD_MS = 1;

it(`never fails a call for an after derived from the fleet's own IDs: ${CALLERS} callers, batched ranges, 4 shards in 2 processes`, async () => {
  const extra = ['--max-lead-ms', String(LEAD_MS), '--max-count', '65536'];
  const [a, b] = await Promise.all([startApp('tso', '0-1', tempDir(), 0, extra), startApp('tso', '2-3', tempDir(), 0, extra)]);
  const client = await PharaohClient.connect({ endpoints: [a.url, b.url] }, { policy: 'round-robin', timeoutMs: 20_000 });
  const keys = [0, 1, 2, 3].map(keyFor);
  const errors: unknown[] = [];
  const perCaller: bigint[][] = Array.from({ length: CALLERS }, () => []);
  const end = Date.now() + 3_000;
  try {
    await Promise.all(
      perCaller.map(async (mine, i) => {
        for (let n = 0; Date.now() < end; n++) {
          try {
            // Whole units per call (8192 IDs), alternating policy-routed and keyed calls over every shard.
            const r = await client.tso.range(8192, n % 2 === 0 ? undefined : { key: keys[(i + n) % keys.length]! });
            mine.push(r.first, r.first + BigInt(r.count - 1));
          } catch (e) {
            errors.push(e);
          }
        }
      }),
    );
  } finally {
    await client.close();
  }
  const codes = errors.map((e) => `${(e as { code?: string }).code}: ${(e as Error).message}`);
  expect(codes.slice(0, 5), `${errors.length} calls failed`).toEqual([]);
  const calls = perCaller.reduce((s, m) => s + m.length / 2, 0);
  expect(calls).toBeGreaterThan(500);
  // Each caller's timestamps keep increasing across shards (that is what `after` is for).
  for (const mine of perCaller) expectIncreasing(mine);
}, 90_000);

/**
 * What the hosts test bed's partition scenario hit: a client whose keyless
 * calls move between shards (there: failover off a cut host; here:
 * round-robin) sends `after` = an ID of one shard to others. Every shard of a
 * fresh 342-shard process (a pod of `deploy/`'s StatefulSet) must accept it:
 * txcoord's shards each draw an ID while the process starts, and the shards
 * opened late used to resume at the shared time bound those draws had pushed
 * up to ~20 s ahead of the clock, so their txIds, as `after`, were refused
 * (BAD_REQUEST, field after) by the shards opened early. Fault model: none
 * (fresh starts); the invariant is the contract of docs/PROTOCOL.md, `after`.
 */
/** A little more than one call per shard of the 342. */
const ROUNDS = 360;

it('never refuses an after taken from another shard of a freshly started 342-shard process (tx.begin, session.open, ts.get)', async () => {
  const apps = await Promise.all((['txcoord', 'session-mgr', 'tso'] as const).map((s) => startApp(s, '0-341', tempDir())));
  const client = await PharaohClient.connect({ endpoints: apps.map((a) => a.url) }, { policy: 'round-robin', timeoutMs: 20_000 });
  const failures: string[] = [];
  const note = (what: string) => (e: unknown) => void failures.push(`${what}: ${(e as { code?: string }).code} ${(e as Error).message}`);
  const txIds: bigint[] = [];
  const sessionIds: bigint[] = [];
  const stamps: bigint[] = [];
  try {
    // Every shard once and then some: round-robin sends each call to the next shard. One sequential loop per service.
    const loop = async (step: () => Promise<void>): Promise<void> => {
      for (let i = 0; i < ROUNDS && failures.length < 5; i++) await step();
    };
    await Promise.all([
      loop(() =>
        client.tx.begin().then(async ({ txId }) => {
          txIds.push(txId);
          await client.tx.commit(txId);
        }, note('tx.begin')),
      ),
      loop(() => client.sessions.open().then(({ sessionId }) => void sessionIds.push(sessionId), note('session.open'))),
      loop(() => client.tso.next().then((ts) => void stamps.push(ts), note('ts.get'))),
    ]);
  } finally {
    await client.close();
  }
  expect(failures).toEqual([]);
  for (const ids of [txIds, sessionIds, stamps]) {
    expect(ids.length).toBe(ROUNDS);
    expectIncreasing(ids);
  }
}, 120_000);
