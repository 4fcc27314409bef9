import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AfterTooFarAheadError, IdRangeError } from '../src/index.js';
import { Checker, L, setup, T0, U0 } from './helpers.js';

/** Our generator is shard 7 (see setup). */
const SHARD = 7;

describe('after: the answer is strictly greater than the caller\'s largest seen ID', () => {
  it('moves to the next unit when after comes from a higher shard in the same unit', async () => {
    const { gen, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next()); // (U0, 7, 0)
    const after = L.encode({ time: U0, shard: SHARD + 2, seq: 0 });
    const id = await gen.next(after);
    check.add(id);
    expect(id > after).toBe(true);
    // (U0, 7, *) < (U0, 9, 0): no ID of shard 7 in U0 can be above it.
    expect(L.decode(id)).toMatchObject({ time: U0 + 1, shard: SHARD, seq: 0 });
  });

  it('stays in the unit when after comes from a lower shard in the same unit', async () => {
    const { gen, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    const after = L.encode({ time: U0, shard: SHARD - 1, seq: L.maxSeq });
    const r = await gen.nextRange(10, after);
    check.add(r.first, r.count);
    expect(r.first > after).toBe(true);
    expect(L.decode(r.first)).toMatchObject({ time: U0, shard: SHARD, seq: 1 });
  });

  it('skips past a higher sequence of its own shard', async () => {
    const { gen, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    const after = L.encode({ time: U0, shard: SHARD, seq: 500 });
    const id = await gen.next(after);
    check.add(id);
    expect(L.decode(id)).toMatchObject({ time: U0, seq: 501 });
    // after at the last sequence of a unit: the answer starts the next unit.
    const last = L.encode({ time: U0 + 1, shard: SHARD, seq: L.maxSeq });
    const id2 = await gen.next(last);
    check.add(id2);
    expect(L.decode(id2)).toMatchObject({ time: U0 + 2, seq: 0 });
  });

  it('jumps ahead to a slightly-ahead clock of another shard, and stays monotonic afterwards', async () => {
    const { gen, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    const after = L.encode({ time: U0 + 2000, shard: 1023, seq: L.maxSeq }); // 2 s ahead, within the lead
    const id = await gen.next(after);
    check.add(id);
    expect(id > after).toBe(true);
    check.add(await gen.next());
  });

  it('refuses an after further ahead than maxLeadMs, and keeps serving others', async () => {
    const { gen, bound } = await setup({ maxLeadMs: 1000 });
    const check = new Checker(bound);
    check.add(await gen.next());
    const after = L.encode({ time: U0 + 5000, shard: 0, seq: 0 });
    await expect(gen.next(after)).rejects.toBeInstanceOf(AfterTooFarAheadError);
    await expect(gen.nextRange(3, after)).rejects.toMatchObject({ code: 'AFTER_TOO_FAR_AHEAD' });
    expect(gen.tryNextRangeSync(1, after)).toBeUndefined();
    check.add(await gen.next());
    expect(L.timeOf(check.last)).toBe(U0);
  });

  it('refuses an after that is not a 64-bit unsigned bigint', async () => {
    const { gen } = await setup();
    await expect(gen.next(-1n)).rejects.toBeInstanceOf(IdRangeError);
    await expect(gen.nextRange(1, 2n ** 64n)).rejects.toThrow(/after must be/);
  });

  it('answers above any after from any shard near the current position (property)', async () => {
    const { gen, bound, clock } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -50, max: 5 }),
        fc.integer({ min: 0, max: L.maxShard }),
        fc.integer({ min: 0, max: L.maxSeq }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 200 }),
        async (dt, shard, seq, clockStep, n) => {
          clock.advance(clockStep);
          const time = L.timeOf(check.last) + dt;
          const after = L.encode({ time, shard, seq });
          const r = await gen.nextRange(n, after);
          expect(r.first > after).toBe(true);
          check.add(r.first, r.count);
        },
      ),
      { numRuns: 3000 },
    );
    expect(T0).toBeLessThan(clock.now());
  });
});
