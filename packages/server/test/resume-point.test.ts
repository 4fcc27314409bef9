/**
 * Where a shard's generator resumes when it opens beside other shards on the
 * process's one time bound (time-bound.ts): at the floor read when the bound
 * was opened, its own carried bound, or — reopened in the same process —
 * just above its own last ID. Never at the bound's live value: the other
 * shards' windows push that ahead of the clock, and every shard that resumed
 * there and drew an ID pushed it further, so shards opened late in a start
 * issued IDs tens of seconds ahead, and an `after` taken from them was
 * refused (BAD_REQUEST) by the rest of the fleet.
 *
 * Fault model: none in the first test (a fresh start, then a graceful
 * restart); in the second, the process's time bound failing (EIO on its
 * fdatasync and ftruncate, as a dying disk) and coming back. Invariants: no
 * shard ever issues at or below an ID it issued before; an `after` taken from
 * any shard of the process is served at once by every other one
 * (docs/PROTOCOL.md, `after`). The clock is injected and frozen or stepped by
 * hand, so a shard ahead of it shows as a unit other than the clock's.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TSO } from '@pharaoh/registry';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { RawClient } from '@pharaoh/testkit';
import type { RunningServer, ServiceDefinition } from '../src/index.js';
import { httpGet, start, tempDir, testService } from './helpers.js';

const T0 = Date.UTC(2026, 11, 3);
/** testService's shards 6-9 misbehave on purpose: these do not. */
const SHARDS = [10, 11, 12, 13, 14, 15, 16, 17];
let data: ReturnType<typeof tempDir>;
const clients: RawClient[] = [];
const servers: RunningServer[] = [];

beforeEach(() => {
  data = tempDir();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  data.remove();
});

/**
 * testService, but each shard draws one ID while it opens, as txcoord does
 * (its presumed-abort floor): the shards opened first advance the shared
 * bound while later ones are still opening.
 */
function drawingService(): ServiceDefinition<typeof TSO, { opened: number }> {
  return { ...testService(), openShard: async (ctx) => (await ctx.generator.next(), { opened: 0 }) };
}

async function client(s: RunningServer): Promise<RawClient> {
  const c = await RawClient.connect(s.url);
  clients.push(c);
  return c;
}

/** One ID from each of SHARDS. */
async function oneEach(c: RawClient): Promise<bigint[]> {
  const out: bigint[] = [];
  for (const shard of SHARDS) out.push((await c.ok<{ first: bigint }>('ts.get', { shard, count: 1 })).first);
  return out;
}

/** Every shard serves `after` = the newest of `ids` at once, above it. */
async function expectAfterServedEverywhere(c: RawClient, ids: bigint[]): Promise<void> {
  const newest = ids.reduce((m, x) => (x > m ? x : m));
  for (const shard of SHARDS) {
    const r = await c.request('ts.get', { shard, count: 1, after: newest });
    expect(r.err, `shard ${shard} refused after = ${newest} (unit ${TSO_LAYOUT.timeOf(newest)})`).toBeUndefined();
    expect((r.ok as { first: bigint }).first > newest).toBe(true);
  }
}

describe('where a shard resumes on the shared time bound', () => {
  it('opens every shard at the clock, however many shards drew IDs before it in the same start', async () => {
    // One shard at a time: each one's draw used to push the shared bound ~2 s past where the next one resumed.
    const s = await start(drawingService(), data.dir, { shards: '10-17', openConcurrency: 1, clock: { now: () => T0 } });
    const c = await client(s);
    const ids = await oneEach(c);
    // The clock is frozen: a lead wait would never end, so "served" means served at once.
    await expectAfterServedEverywhere(c, ids);
    // A shard that issued nothing before starts in the clock's unit.
    for (const id of ids) expect(TSO_LAYOUT.timeOf(id)).toBe(TSO_LAYOUT.unitAt(T0));
    await s.close();

    // A graceful restart resumes every shard at the same floor (the old process bound, a window ahead), above its old IDs.
    const again = await start(drawingService(), data.dir, { shards: '10-17', openConcurrency: 1, clock: { now: () => T0 } });
    servers.push(again);
    const c2 = await client(again);
    const resumed = await oneEach(c2);
    expect(new Set(resumed.map((id) => TSO_LAYOUT.timeOf(id))).size).toBe(1);
    for (const [i, id] of resumed.entries()) expect(id > ids[i]!).toBe(true);
    await expectAfterServedEverywhere(c2, resumed);
  });

  it('reopens the shards of a failed time bound one after another without pushing each one further ahead', async () => {
    let now = T0;
    const disk = new SimulatedFs({ seed: 3, dirs: [data.dir] });
    const s = await start(drawingService(), data.dir, { shards: '10-17', fs: disk, clock: { now: () => now }, reopenBackoff: { minMs: 20, maxMs: 100 } });
    servers.push(s);
    const c = await client(s);
    const before = await oneEach(c);
    const bound = join(data.dir, 'tso', 'bound-0');
    disk.injectFault({ op: 'datasync', code: 'EIO', path: bound, times: Infinity });
    disk.injectFault({ op: 'truncate', code: 'EIO', path: bound, times: Infinity });
    now += 10_000; // past the window: the next ID needs the bound to advance, and it cannot
    expect((await c.request('ts.get', { shard: SHARDS[0], count: 1 })).err).toMatchObject({ code: 'SHARD_UNAVAILABLE' });
    disk.clearFaults();
    const deadline = Date.now() + 10_000;
    while ((await httpGet(s.httpPort, '/readyz')).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse((await httpGet(s.httpPort, '/readyz')).body)).toMatchObject({ ready: true, unavailable: [] });
    // Every shard reopened (each drawing an ID as it opened) with the new bound, in turn.
    const after = await oneEach(c);
    for (const [i, id] of after.entries()) expect(id > before[i]!, `shard ${SHARDS[i]} went back`).toBe(true);
    await expectAfterServedEverywhere(c, after);
    // At most the window (3 s) and one tick of rounding past the clock: where a restart would resume.
    for (const id of after) expect(TSO_LAYOUT.timeOf(id) - TSO_LAYOUT.unitAt(now)).toBeLessThanOrEqual(4_000);
  });
});
