import { describe, expect, it } from 'vitest';
import { defineLayout, IdGenerator, TimeExhaustedError } from '../src/index.js';
import { Checker, FakeClock, HOUR, L, MemoryBound, setup, settle, T0, U0 } from './helpers.js';

describe('clock policy', () => {
  it.each([
    ['1 ms', 1],
    ['1 s', 1000],
    ['1 h', HOUR],
  ])('never lets an ID go backwards when the clock steps back %s', async (_name, stepMs) => {
    const { gen, clock, bound, events } = await setup();
    const check = new Checker(bound);
    for (let i = 0; i < 50; i++) {
      clock.advance(1);
      check.add(await gen.next());
    }
    const unitBefore = L.timeOf(check.last);
    clock.advance(-stepMs);
    for (let i = 0; i < 5000; i++) check.add(await gen.next());
    // Keeps issuing from the last unit (borrowing within the lead), not from the clock.
    expect(L.timeOf(check.last)).toBeGreaterThanOrEqual(unitBefore);
    expect(gen.stats.clockRegressions).toBe(1);
    expect(events).toContainEqual({ type: 'clock-regression', fromMs: T0 + 50, toMs: T0 + 50 - stepMs });
    // Once the clock is past the last unit again, IDs follow it.
    clock.set(T0 + 10_000);
    check.add(await gen.next());
    expect(L.decode(check.last)).toMatchObject({ time: U0 + 10_000, seq: 0 });
  });

  it('after a 1 h step back, keeps serving by borrowing up to maxLeadMs past the newest reading, then waits', async () => {
    const { gen, clock, bound } = await setup({ maxLeadMs: 3 });
    const check = new Checker(bound);
    check.add(await gen.next());
    clock.advance(-HOUR);
    // Unit U0 has 8191 IDs left; U0+1..U0+3 are within the 3 ms lead: 8191 + 3 * 8192.
    for (let i = 0; i < 8191 + 3 * 8192; i++) check.add((await gen.nextRange(1)).first);
    let resolved = false;
    const waiting = gen.next().then((id) => ((resolved = true), id));
    await settle();
    expect(resolved).toBe(false);
    expect(gen.stats.leadWaits).toBe(1);
    clock.set(T0 + 1); // the clock is back and has moved on one unit
    check.add(await waiting);
    expect(L.timeOf(check.last)).toBe(U0 + 4);
  });

  it('with a frozen clock, borrows the next units when a unit is used up, then waits at maxLeadMs', async () => {
    const { gen, clock, bound, events } = await setup({ maxLeadMs: 2 });
    const check = new Checker(bound);
    // Three whole units: U0 from the clock, U0+1 and U0+2 borrowed (lead 2 ms).
    for (let i = 0; i < 3; i++) {
      const r = await gen.nextRange(L.maxSeq + 1);
      check.add(r.first, r.count);
      expect(r.count).toBe(L.maxSeq + 1);
      expect(L.decode(r.first)).toMatchObject({ time: U0 + i, seq: 0 });
    }
    expect(gen.stats.seqOverflows).toBe(2);
    expect(events.filter((e) => e.type === 'seq-overflow')).toEqual([
      { type: 'seq-overflow', unit: U0 + 1 },
      { type: 'seq-overflow', unit: U0 + 2 },
    ]);
    let resolved = false;
    const waiting = gen.nextRange(5).then((r) => ((resolved = true), r));
    expect(gen.tryNextRangeSync(1)).toBeUndefined(); // queued behind the waiter
    await new Promise((r) => setTimeout(r, 30)); // several lead polls: the clock is still frozen
    expect(resolved).toBe(false);
    expect(gen.stats.leadWaits).toBe(1);
    expect(events).toContainEqual({ type: 'lead-wait', unit: U0 + 3, clockUnit: U0 });
    clock.advance(1);
    const r = await waiting;
    check.add(r.first, r.count);
    expect(L.decode(r.first)).toMatchObject({ time: U0 + 3, seq: 0 });
  });

  it('follows a forward jump of the clock, waiting once for the bound to catch up', async () => {
    const { gen, clock, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    clock.advance(HOUR);
    expect(gen.tryNextRangeSync(1)).toBeUndefined(); // far beyond the window: needs the disk
    check.add(await gen.next());
    expect(L.decode(check.last)).toMatchObject({ time: U0 + HOUR, seq: 0 });
    expect(gen.stats.boundWaits).toBe(2);
    clock.advance(1);
    expect(gen.tryNextRangeSync(1)).toBeDefined();
  });

  it('keeps IDs increasing under a randomly stepping clock', async () => {
    // A lead wait would wait for this fake clock forever: allow a lead of an hour here
    // (lead waits have their own tests) so the walk checks ordering only.
    const { gen, clock, bound } = await setup({ maxLeadMs: HOUR });
    const check = new Checker(bound);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const x = rand();
      if (x < 0.05) clock.advance(-Math.floor(rand() * 5000));
      else if (x < 0.5) clock.advance(Math.floor(rand() * 20));
      const r = await gen.nextRange(1 + Math.floor(rand() * 3000));
      check.add(r.first, r.count);
    }
    expect(gen.stats.clockRegressions).toBeGreaterThan(100);
  });

  it('refuses to issue once the layout runs out of time units', async () => {
    // 22 time bits of 1 ms (~70 min): the epoch is chosen so T0 is the last unit.
    const tiny = defineLayout({ name: 'tiny', timeBits: 22, shardBits: 10, seqBits: 32, epoch: T0 - (2 ** 22 - 1) });
    const clock = new FakeClock(T0);
    const gen = await IdGenerator.open({ layout: tiny, shard: 1, bound: new MemoryBound(), clock });
    expect(tiny.decode(await gen.next()).time).toBe(2 ** 22 - 1);
    clock.advance(1);
    await expect(gen.next()).rejects.toBeInstanceOf(TimeExhaustedError);
    await expect(gen.next()).rejects.toMatchObject({ code: 'TIME_EXHAUSTED' });
  });
});
