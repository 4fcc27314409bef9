/**
 * `resumeTicks` and `issuedBelowTicks`: where a generator on a shared bound
 * resumes, and what it tells a successor of its shard. Fault model: process
 * death between generators (a successor opens on the same bound, nothing
 * handed over but `issuedBelowTicks`). Invariant: a successor's IDs are above
 * every ID its predecessor issued; a shard that issued nothing before starts
 * at the clock however far the shared bound runs ahead of it.
 */
import { describe, expect, it } from 'vitest';
import { IdGenerator, InvalidOptionError, sharedBound } from '../src/index.js';
import { FakeClock, L, MemoryBound, T0, U0, UNITS_PER_TICK } from './helpers.js';

const TICK0 = Math.floor(U0 / UNITS_PER_TICK);

describe('resumeTicks', () => {
  it('resumes at the clock when told nothing was issued, however far the shared bound runs ahead', async () => {
    const bound = new MemoryBound(TICK0 + 20); // the other shards' windows pushed it 20 s ahead
    const gen = await IdGenerator.open({ layout: L, shard: 3, bound: sharedBound(bound), clock: new FakeClock(T0), resumeTicks: 0 });
    expect(L.timeOf(await gen.next())).toBe(U0);
    // Without it, the generator takes the bound's value as its resume point (a bound of its own).
    const own = await IdGenerator.open({ layout: L, shard: 4, bound: sharedBound(bound), clock: new FakeClock(T0) });
    expect(L.timeOf(await own.next())).toBe((TICK0 + 20) * UNITS_PER_TICK);
  });

  it('never resumes below floorTicks', async () => {
    const gen = await IdGenerator.open({ layout: L, shard: 3, bound: new MemoryBound(), clock: new FakeClock(T0), resumeTicks: 0, floorTicks: TICK0 + 2 });
    expect(L.timeOf(await gen.next())).toBe((TICK0 + 2) * UNITS_PER_TICK);
  });

  it('refuses a resumeTicks that is not a non-negative safe integer', async () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
      await expect(IdGenerator.open({ layout: L, shard: 0, bound: new MemoryBound(), resumeTicks: bad })).rejects.toBeInstanceOf(InvalidOptionError);
    }
  });
});

describe('issuedBelowTicks', () => {
  it('lies above every issued ID, and a successor resuming there issues above them', async () => {
    const bound = sharedBound(new MemoryBound());
    const clock = new FakeClock(T0);
    const gen = await IdGenerator.open({ layout: L, shard: 3, bound, clock, resumeTicks: 0 });
    let last = 0n;
    for (let i = 0; i < 5; i++) {
      clock.advance(333);
      last = await gen.next();
    }
    const below = gen.issuedBelowTicks;
    expect(L.timeOf(last)).toBeLessThan(below * UNITS_PER_TICK);
    expect(below * UNITS_PER_TICK - L.timeOf(last)).toBeLessThanOrEqual(UNITS_PER_TICK); // less than a tick above it
    await gen.close();
    clock.set(T0); // the clock stepped back meanwhile
    const next = await IdGenerator.open({ layout: L, shard: 3, bound, clock, resumeTicks: below });
    expect(await next.next()).toBeGreaterThan(last);
  });

  it('does not move when a generator opens and closes without issuing (reopening does not creep ahead)', async () => {
    const bound = sharedBound(new MemoryBound(TICK0 + 4));
    let resume = TICK0 + 4;
    for (let i = 0; i < 5; i++) {
      const gen = await IdGenerator.open({ layout: L, shard: 3, bound, clock: new FakeClock(T0), resumeTicks: resume });
      expect(gen.issuedBelowTicks).toBe(resume);
      resume = gen.issuedBelowTicks;
      await gen.close();
    }
  });
});
