import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AfterTooFarAheadError, IdGenerator, IdRangeError } from '../src/index.js';
import { Checker, FakeClock, L, MemoryBound, settle, setup, T0, U0 } from './helpers.js';

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

  it('serves an after another shard issued at the edge of its lead, waiting for the clock instead of refusing', async () => {
    const { gen, bound, clock } = await setup({ maxLeadMs: 1000, maxClockSkewMs: 0 });
    const check = new Checker(bound);
    check.add(await gen.next());
    // Shard 9 on the same clock, borrowing at the very edge of its lead, issued this ID. A lower
    // shard (7) must answer in the next unit: one unit beyond its own lead.
    const after = L.encode({ time: U0 + 1000, shard: SHARD + 2, seq: L.maxSeq });
    let settled: bigint | Error | undefined;
    const p = gen.next(after).then((id) => (settled = id), (e: Error) => (settled = e));
    await settle();
    expect(settled).toBeUndefined(); // waiting, not refused
    clock.advance(1);
    await p;
    expect(typeof settled).toBe('bigint');
    expect((settled as bigint) > after).toBe(true);
    check.add(settled as bigint);
    expect(gen.stats.leadWaits).toBe(1);
  });

  it('serves an after from a shard whose clock runs ahead by up to maxClockSkewMs, once its own clock catches up', async () => {
    const { gen, clock } = await setup({ maxLeadMs: 1000, maxClockSkewMs: 200 });
    await gen.next();
    const after = L.encode({ time: U0 + 1000 + 200, shard: 1023, seq: L.maxSeq }); // a clock 200 ms ahead, at its lead
    let done = false;
    const p = gen.nextRange(5, after).then((r) => {
      done = true;
      return r;
    });
    clock.advance(200);
    await settle();
    expect(done).toBe(false);
    clock.advance(1);
    const r = await p;
    expect(r.first > after).toBe(true);
  });

  it('refuses an after beyond the lead plus the clock skew at once, and keeps serving others', async () => {
    const { gen, bound, clock } = await setup({ maxLeadMs: 1000, maxClockSkewMs: 200 });
    const check = new Checker(bound);
    check.add(await gen.next());
    const after = L.encode({ time: U0 + 1000 + 200 + 2, shard: 0, seq: 0 });
    await expect(gen.next(after)).rejects.toBeInstanceOf(AfterTooFarAheadError);
    await expect(gen.nextRange(3, after)).rejects.toMatchObject({ code: 'AFTER_TOO_FAR_AHEAD', afterUnit: U0 + 1202, maxUnit: U0 + 1201 });
    await expect(gen.next(after)).rejects.toThrow(/after is too far ahead: an answer above it would start 1202 time units past this shard's clock; at most 1201/);
    expect(gen.tryNextRangeSync(1, after)).toBeUndefined();
    check.add(await gen.next());
    expect(L.timeOf(check.last)).toBe(U0);
    // Just inside the tolerance: waited for, then served once the clock allows it.
    const inside = L.encode({ time: U0 + 1201, shard: SHARD - 4, seq: 0 });
    const p = gen.next(inside);
    expect(await Promise.race([p.then(() => 'served', () => 'refused'), settle().then(() => 'waiting')])).toBe('waiting');
    clock.advance(201);
    check.add(await p);
    expect(check.last > inside).toBe(true);
  });

  it('never refuses an after taken from the fleet: shards at batched load, a client feeding each the largest ID it saw (property)', async () => {
    const clock = new FakeClock(T0);
    const gens = await Promise.all([0, 3, 7, 512, 1023].map((shard) => IdGenerator.open({ layout: L, shard, bound: new MemoryBound(), clock, maxLeadMs: 50, maxClockSkewMs: 0 })));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(gens.length - 1), fc.integer({ min: 4096, max: 20_000 }), fc.constantFrom(0, 0, 0, 1)), { minLength: 100, maxLength: 400 }), async (calls) => {
        let maxSeen = 0n;
        for (const [g, n, tick] of calls) {
          // Each call's promise resolves once the clock allows it; the clock moves on meanwhile.
          const p = gens[g]!.nextRange(n, maxSeen === 0n ? undefined : maxSeen);
          let r: { first: bigint; count: number } | undefined;
          p.then((x) => (r = x), () => undefined);
          for (let i = 0; i < 200 && r === undefined; i++) {
            await settle(1);
            if (r === undefined) clock.advance(1);
          }
          const got = await p; // rejects (fails the property) on AFTER_TOO_FAR_AHEAD
          expect(got.first > maxSeen).toBe(true);
          maxSeen = got.first + BigInt(got.count - 1);
          clock.advance(tick);
        }
      }),
      { numRuns: 20, seed: 3 },
    );
    for (const gen of gens) await gen.close();
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
