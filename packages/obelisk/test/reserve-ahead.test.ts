import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { MAX_VALUE, Obelisk } from '../src/index.js';
import { rejectionCode, settle } from './helpers.js';

const PATH = '/data/counter';

async function fresh(reserveAhead: number, options: { seed?: number; maxDelay?: number } = {}) {
  const disk = new SimulatedFs({ ...options, dirs: ['/data'] });
  const c = await Obelisk.open(PATH, { fs: disk, reserveAhead });
  return { disk, c };
}

describe('reserveAhead (opt-in window)', () => {
  it('grows the file a window ahead and hands out the values it covers without another sync', async () => {
    const { disk, c } = await fresh(100);
    expect(await c.increment()).toBe(1);
    expect(disk.durableSizeOf(PATH)).toBe(101);
    const syncs = disk.stats.ops.datasync;
    // 40 more values stay inside the window's first half: no refill, no sync.
    for (let i = 2; i <= 41; i++) expect(await c.increment()).toBe(i);
    expect(disk.stats.ops.datasync).toBe(syncs);
    expect(c.value).toBe(41);
    expect(disk.durableSizeOf(PATH)).toBe(101);
  });

  it('refills the window in the background once less than half is left, one ftruncate then one fdatasync at a time', async () => {
    const { disk, c } = await fresh(10, { seed: 3, maxDelay: 4 });
    const worker = async () => {
      let last = 0;
      for (let i = 0; i < 200; i++) {
        const v = await c.increment();
        expect(v).toBeGreaterThan(last);
        expect(v).toBeLessThanOrEqual(disk.durableSizeOf(PATH) ?? 0);
        last = v;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(c.value).toBe(1600);
    expect(disk.stats.maxTruncatesInFlight).toBe(1);
    expect(disk.stats.ops.truncate).toBeLessThan(1600 / 5 + 10);
    await c.close();
    expect(disk.durableSizeOf(PATH) ?? 0).toBeGreaterThanOrEqual(1600);
    expect(disk.durableSizeOf(PATH) ?? 0).toBeLessThanOrEqual(1610);
  });

  it('never releases a value the durable size does not cover: calls past the window wait for the sync', async () => {
    const { disk, c } = await fresh(4);
    expect(await c.increment()).toBe(1); // durable size 5
    const release = disk.hold('datasync');
    expect(await c.increment(3)).toBe(4); // covered; 1 left, so a refill starts (and is held)
    let resolved: number | undefined;
    const past = c.increment(2).then((v) => (resolved = v));
    await settle();
    expect(resolved).toBeUndefined();
    expect(disk.durableSizeOf(PATH)).toBe(5);
    release();
    await past;
    expect(resolved).toBe(6);
    expect(disk.durableSizeOf(PATH) ?? 0).toBeGreaterThanOrEqual(6);
  });

  it('resolves calls in the order their values were handed out, across a refill', async () => {
    const { disk, c } = await fresh(6);
    await c.increment(); // durable 7
    const release = disk.hold('datasync');
    const seen: number[] = [];
    const calls = Array.from({ length: 12 }, () => c.increment().then((v) => seen.push(v)));
    await settle();
    release();
    await Promise.all(calls);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
  });

  it('reopens at the durable size: up to the window above the last value handed out, never below it', async () => {
    const { disk, c } = await fresh(1000);
    expect(await c.increment(7)).toBe(7);
    await c.close();
    disk.powerLoss();
    const again = await Obelisk.open(PATH, { fs: disk, reserveAhead: 1000 });
    expect(again.value).toBe(1007);
    expect(await again.increment()).toBe(1008);
  });

  it('advanceTo inside the window resolves without a sync, and later increments go above it', async () => {
    const { disk, c } = await fresh(100);
    await c.increment();
    const syncs = disk.stats.ops.datasync;
    expect(await c.advanceTo(30)).toBe(30);
    expect(disk.stats.ops.datasync).toBe(syncs);
    expect(await rejectionCode(c.advanceTo(29))).toBe('INVALID_ARGUMENT');
    expect(await c.increment()).toBe(31);
    expect(await c.advanceTo(500)).toBe(500);
    expect(disk.durableSizeOf(PATH)).toBe(600);
    expect(c.value).toBe(500);
  });

  it('stops at 2^53 - 1: the window is cut there, and EXHAUSTED still leaves the counter unchanged', async () => {
    const { c } = await fresh(1000);
    expect(await c.advanceTo(MAX_VALUE - 5)).toBe(MAX_VALUE - 5);
    expect(await c.reserve(5)).toEqual({ first: MAX_VALUE - 4, last: MAX_VALUE });
    expect(await rejectionCode(c.increment())).toBe('EXHAUSTED');
    expect(c.value).toBe(MAX_VALUE);
  });

  it('a failed sync still poisons: the calls waiting on it and every later call reject, even ones the window covers', async () => {
    const { disk, c } = await fresh(4);
    await c.increment(); // durable 5
    disk.injectFault({ op: 'datasync', code: 'EIO' });
    const waiting = c.increment(10);
    expect(await rejectionCode(waiting)).toBe('POISONED');
    expect(await rejectionCode(c.increment())).toBe('POISONED');
    expect(await rejectionCode(c.advanceTo(3))).toBe('POISONED');
    expect(c.value).toBe(disk.durableSizeOf(PATH)); // 5: durable, and nothing above it was released
  });

  it('rolls over past the maximum file size with the window on', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk, reserveAhead: 8, maxFileSize: 20 });
    for (let i = 1; i <= 100; i++) expect(await c.increment()).toBe(i);
    await c.close();
    disk.powerLoss();
    const again = await Obelisk.open(PATH, { fs: disk, reserveAhead: 8, maxFileSize: 20 });
    expect(again.value).toBeGreaterThanOrEqual(100);
    expect(again.value).toBeLessThanOrEqual(108);
  });

  it.each([-1, 1.5, NaN, '8'] as unknown[])('refuses reserveAhead %s with INVALID_ARGUMENT', async (reserveAhead) => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    expect(await rejectionCode(Obelisk.open(PATH, { fs: disk, reserveAhead: reserveAhead as number }))).toBe('INVALID_ARGUMENT');
  });
});
