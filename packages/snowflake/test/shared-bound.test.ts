import { describe, expect, it } from 'vitest';
import { IdGenerator, sharedBound } from '../src/index.js';
import { Checker, FakeClock, L, MemoryBound, T0, U0, UNITS_PER_TICK } from './helpers.js';

/** Generators of several shards of one process on one bound, as the server runs them. */
async function fleetOn(bound: MemoryBound, shards: number, clock = new FakeClock(T0), floorTicks = 0) {
  const shared = sharedBound(bound);
  const gens = await Promise.all(
    Array.from({ length: shards }, (_, shard) => IdGenerator.open({ layout: L, shard, bound: shared, clock, floorTicks })),
  );
  return { gens, clock };
}

describe('one durable bound shared by the generators of a process', () => {
  it('lets an idle shard issue at once, without waiting on disk, while a busy shard keeps the bound ahead', async () => {
    const bound = new MemoryBound();
    const { gens, clock } = await fleetOn(bound, 3);
    const busy = gens[0]!;
    await busy.next(); // the first call of the process waits for one advance
    for (let i = 0; i < 200; i++) {
      clock.advance(10);
      await busy.next();
    }
    // Shards 1 and 2 never asked: their first IDs come synchronously from the shared durable value.
    expect(gens[1]!.tryNextRangeSync(1)).toBeDefined();
    expect(gens[2]!.tryNextRangeSync(5)?.count).toBe(5);
    expect(gens[1]!.stats.boundWaits + gens[2]!.stats.boundWaits).toBe(0);
  });

  it('shares one advance among shards that need it at once, and never asks the bound to go lower', async () => {
    const bound = new MemoryBound();
    bound.manual = true;
    const { gens } = await fleetOn(bound, 8);
    const ids = gens.map((g) => g.next());
    expect(bound.waiting).toBe(8); // each asked while the value was 0...
    bound.release();
    const got = await Promise.all(ids);
    expect(new Set(got).size).toBe(8);
    // ...and later asks below the durable value resolve without reaching the bound.
    const calls = bound.calls.length;
    await Promise.all(gens.map((g) => g.next()));
    expect(bound.calls.length).toBe(calls);
  });

  it('resumes at the floor (a bound carried in by a moved shard) when it is above the shared bound, and never below it', async () => {
    const bound = new MemoryBound(10); // this process's bound: tick 10
    const floor = Math.floor(U0 / UNITS_PER_TICK) + 3600; // the shard issued up to an hour ahead of the clock elsewhere
    const { gens } = await fleetOn(bound, 1, new FakeClock(T0), floor);
    const check = new Checker(bound);
    const id = await gens[0]!.next();
    check.add(id);
    expect(L.timeOf(id)).toBeGreaterThanOrEqual(floor * UNITS_PER_TICK);
  });
});

describe('restarts in quick succession', () => {
  it('move the resume point at most about two ticks per restart, not a whole window (the bound stays near the clock)', async () => {
    const bound = new MemoryBound();
    const clock = new FakeClock(T0);
    let last = -1n;
    for (let restart = 0; restart < 10; restart++) {
      const gen = await IdGenerator.open({ layout: L, shard: 1, bound: sharedBound(bound), clock });
      const id = await gen.next();
      expect(id > last).toBe(true);
      last = id;
      await gen.close(); // the process dies right after; its bound advance has completed
    }
    const aheadMs = L.timeOf(last) - U0;
    // Measured from the issued unit, each restart would add window + tick (4 s): 36 s after 10.
    expect(aheadMs).toBeLessThanOrEqual(3000 + 10 * 2 * UNITS_PER_TICK);
    expect(aheadMs).toBeGreaterThan(0);
  });
});
