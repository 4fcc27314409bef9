import { describe, expect, it } from 'vitest';
import { GeneratorClosedError, IdGenerator, InvalidOptionError, type GeneratorOptions } from '../src/index.js';
import { Checker, FakeClock, HOUR, L, MemoryBound, setup, settle, T0, U0, UNITS_PER_TICK } from './helpers.js';

describe('IdGenerator basics', () => {
  it('issues increasing IDs carrying the clock unit, the shard and a counting sequence', async () => {
    const { gen, clock, bound } = await setup();
    const check = new Checker(bound);
    const a = await gen.next();
    const b = await gen.next();
    clock.advance(1);
    const c = await gen.next();
    for (const id of [a, b, c]) check.add(id);
    expect(L.decode(a)).toMatchObject({ time: U0, shard: 7, seq: 0 });
    expect(L.decode(b)).toMatchObject({ time: U0, shard: 7, seq: 1 });
    expect(L.decode(c)).toMatchObject({ time: U0 + 1, shard: 7, seq: 0 });
    expect(L.decode(a).date.getTime()).toBe(T0);
    expect(gen.stats.issued).toBe(3);
  });

  it('counts the bound in coarse ticks (seconds since the layout epoch), not milliseconds', async () => {
    const { gen, bound } = await setup();
    await gen.next();
    const secondsSinceEpoch = (T0 - L.epochMs) / 1000;
    // The first call pushes the bound one window (3 s) past the unit, rounded up to whole ticks.
    expect(bound.value).toBe(Math.floor((U0 + 3000) / UNITS_PER_TICK) + 1);
    expect(bound.value).toBeLessThan(secondsSinceEpoch + 5);
  });

  it('does not touch the bound while no ID is asked for', async () => {
    const { gen, bound, clock } = await setup();
    expect(bound.calls).toEqual([]);
    await gen.next();
    const calls = bound.calls.length;
    for (let i = 0; i < 100; i++) clock.advance(1000);
    await settle();
    expect(bound.calls.length).toBe(calls);
  });

  it('returns consecutive ranges inside one unit, shorter when the unit is nearly used up', async () => {
    const { gen, bound } = await setup();
    const check = new Checker(bound);
    const r1 = await gen.nextRange(8190);
    expect(r1.count).toBe(8190);
    check.add(r1.first, r1.count);
    const r2 = await gen.nextRange(100);
    expect(r2).toEqual({ first: r1.first + 8190n, count: 2 });
    check.add(r2.first, r2.count);
    expect(L.decode(r2.first + 1n)).toMatchObject({ time: U0, seq: L.maxSeq });
    const r3 = await gen.nextRange(100);
    check.add(r3.first, r3.count);
    expect(L.decode(r3.first)).toMatchObject({ time: U0 + 1, seq: 0 });
    expect(r3.count).toBe(100);
  });

  it('rejects a range size that is not a positive integer', async () => {
    const { gen } = await setup();
    for (const n of [0, -1, 1.5, NaN]) await expect(gen.nextRange(n)).rejects.toBeInstanceOf(InvalidOptionError);
    expect(() => gen.tryNextRangeSync(0)).toThrow(RangeError);
  });

  it('refuses invalid options with a typed RangeError', async () => {
    const base = { layout: L, shard: 1, bound: new MemoryBound() };
    const bad: Array<Partial<GeneratorOptions>> = [
      { shard: 1024 },
      { shard: -1 },
      { shard: 1.5 },
      { windowMs: 0 },
      { maxLeadMs: -1 },
      { boundTickMs: 0 },
      { bound: new MemoryBound(-1) },
      { bound: {} as MemoryBound },
      { clock: {} as FakeClock },
    ];
    for (const b of bad) {
      await expect(IdGenerator.open({ ...base, ...b })).rejects.toBeInstanceOf(InvalidOptionError);
    }
    const tenMs = (await import('../src/index.js')).defineLayout({ timeBits: 41, shardBits: 10, seqBits: 13, unitMs: 10 });
    await expect(IdGenerator.open({ ...base, layout: tenMs, boundTickMs: 1005 })).rejects.toThrow(/multiple/);
  });
});

describe('the durable bound', () => {
  it('makes only the first call wait for the disk, and advances in the background after that', async () => {
    const { gen, clock, bound } = await setup();
    bound.manual = true;
    const check = new Checker(bound);
    const first = gen.next();
    await settle();
    expect(bound.waiting).toBe(1);
    bound.release();
    check.add(await first);
    expect(gen.stats.boundWaits).toBe(1);
    // 20 s of traffic, one call every 10 ms; the disk finishes each advance before the next step.
    for (let step = 0; step < 2000; step++) {
      clock.advance(10);
      const r = gen.tryNextRangeSync(5);
      if (r === undefined) throw new Error(`the hot path had to wait at step ${step}`);
      check.add(r.first, r.count);
      if (bound.waiting > 0) {
        await settle(1);
        bound.release();
        await settle(1);
      }
    }
    expect(gen.stats.boundWaits).toBe(1);
    // ~one fsync per 1.5 s of traffic, not one per call.
    expect(gen.stats.boundAdvances).toBeGreaterThanOrEqual(10);
    expect(gen.stats.boundAdvances).toBeLessThanOrEqual(16);
  });

  it('never issues a unit at or past the durable bound, and waits when the window is used up', async () => {
    const { gen, clock, bound, events } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    bound.manual = true; // from now on the disk never finishes an advance by itself
    let blocked: Promise<bigint> | undefined;
    for (let step = 0; step < 100 && blocked === undefined; step++) {
      clock.advance(100);
      const r = gen.tryNextRangeSync(1);
      if (r === undefined) blocked = gen.next();
      else check.add(r.first);
    }
    expect(blocked).toBeDefined();
    expect(L.timeOf(check.last)).toBeLessThan(bound.value * UNITS_PER_TICK);
    await settle();
    expect(gen.stats.boundWaits).toBe(2);
    expect(events.some((e) => e.type === 'bound-wait')).toBe(true);
    bound.release();
    check.add(await blocked!);
  });

  it('rejects waiting and later calls with the bound error once advanceTo fails, and exposes it', async () => {
    const { gen, bound } = await setup();
    bound.manual = true;
    const poisoned = Object.assign(new Error('obelisk poisoned'), { code: 'POISONED' });
    const waiting = [gen.next(), gen.nextRange(10), gen.next()];
    await settle();
    bound.failPending(poisoned);
    for (const p of waiting) await expect(p).rejects.toBe(poisoned);
    expect(gen.failed).toBe(poisoned);
    await expect(gen.next()).rejects.toBe(poisoned);
    await expect(gen.nextRange(5)).rejects.toBe(poisoned);
    expect(gen.tryNextRangeSync(1)).toBeUndefined();
  });

  it('stops issuing when a background advance fails, even with window left', async () => {
    const { gen, clock, bound } = await setup();
    await gen.next();
    bound.failWith = new Error('EIO');
    // The bound sits at U0 + 4 s (window 3 s, rounded up to whole ticks); 2.6 s later the
    // issued unit is within the 1.5 s margin, which starts a background advance.
    clock.advance(2600);
    await gen.next();
    await settle();
    expect(gen.failed?.message).toBe('EIO');
    await expect(gen.next()).rejects.toThrow('EIO');
  });
  it('merges a need that arrives while an advance is in flight into one follow-up advance', async () => {
    const { gen, clock, bound } = await setup();
    const check = new Checker(bound);
    check.add(await gen.next());
    bound.manual = true;
    clock.advance(2600); // within the margin: a background advance starts
    check.add(await gen.next());
    expect(bound.waiting).toBe(1);
    clock.advance(HOUR); // far past what that advance will cover
    const blocked = gen.next();
    await settle();
    bound.release(); // the first advance completes; it does not cover the jump
    await settle();
    expect(bound.waiting).toBe(1); // exactly one follow-up advance
    bound.release();
    check.add(await blocked);
    expect(L.decode(check.last).time).toBe(U0 + 2600 + HOUR);
  });

  it('fails when the bound resolves an advance below the value asked for', async () => {
    const bound = new MemoryBound();
    bound.advanceTo = async () => 1; // a broken bound
    const { gen } = await setup({ bound });
    await expect(gen.next()).rejects.toThrow(/below the asked value/);
    expect(gen.failed).toBeInstanceOf(Error);
  });
});

describe('close', () => {
  it('rejects pending and later calls, and leaves the bound alone', async () => {
    const { gen, bound } = await setup();
    bound.manual = true;
    const pending = gen.next();
    await settle();
    const closing = gen.close();
    await expect(pending).rejects.toBeInstanceOf(GeneratorClosedError);
    await expect(gen.next()).rejects.toMatchObject({ code: 'CLOSED' });
    bound.release();
    await closing;
    expect(gen.failed).toBeUndefined();
  });
});

describe('options', () => {
  it('keeps working when the event listener throws', async () => {
    const { gen, clock, bound } = await setup({
      onEvent: () => {
        throw new Error('bad listener');
      },
    });
    const check = new Checker(bound);
    check.add(await gen.next());
    clock.advance(-5);
    check.add(await gen.next());
    expect(gen.stats.clockRegressions).toBe(1);
  });
});
