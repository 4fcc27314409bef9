import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { Obelisk, ObeliskError } from '../src/index.js';
import { rejectionCode, settle } from './helpers.js';

const PATH = '/data/counter';
const cases = (['truncate', 'datasync'] as const).flatMap((op) =>
  (['EIO', 'ENOSPC', 'EFBIG'] as const).map((code) => ({ op, code })),
);

describe('poisoning after a failed ftruncate or fdatasync', () => {
  it.each(cases)('a failed $op ($code) rejects every waiter and later call with POISONED', async ({ op, code }) => {
    const disk = new SimulatedFs({ seed: 7, dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk });
    await c.increment(3);
    disk.injectFault({ op, code });
    const waiters = Array.from({ length: 10 }, () => c.increment());
    const results = await Promise.allSettled(waiters);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as ObeliskError;
      expect(err.code).toBe('POISONED');
      expect((err.cause as { code: string }).code).toBe(code);
    }
    expect(c.poisoned).toBe(true);
    expect(c.value).toBe(3);
    expect(await rejectionCode(c.increment())).toBe('POISONED');
    expect(await rejectionCode(c.reserve(2))).toBe('POISONED');
    expect(await rejectionCode(c.advanceTo(100))).toBe('POISONED');
    expect(disk.durableSizeOf(PATH)).toBe(3); // nothing beyond 3 was made durable, and nothing beyond it released
    await c.close();

    // The failed call may have left a larger size in the page cache (a failed
    // datasync after its truncate): a power cut keeps 3 or that size, never less.
    disk.powerLoss();
    const again = await Obelisk.open(PATH, { fs: disk });
    const reopened = again.value;
    expect(reopened).toBeGreaterThanOrEqual(3);
    expect(disk.durableSizeOf(PATH)).toBe(reopened);
    expect(await again.increment()).toBe(reopened + 1);
  });

  it('also rejects calls that were queued behind the failing sync', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk });
    const release = disk.hold('truncate');
    disk.injectFault({ op: 'datasync', code: 'EIO' });
    const inFlight = c.increment();
    await settle();
    const queued = [c.increment(), c.reserve(5), c.advanceTo(50)];
    release();
    expect(await rejectionCode(inFlight)).toBe('POISONED');
    for (const q of queued) expect(await rejectionCode(q)).toBe('POISONED');
  });

  it('reopening without a power cut reads the size the failed sync left and makes it durable first', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk });
    await c.increment(3);
    disk.injectFault({ op: 'datasync', code: 'EIO' });
    expect(await rejectionCode(c.increment(10))).toBe('POISONED');
    await c.close();
    const again = await Obelisk.open(PATH, { fs: disk });
    expect(again.value).toBe(13); // the truncate reached the page cache: reading it is safe (higher) ...
    expect(disk.durableSizeOf(PATH)).toBe(13); // ... because open synced it before reporting it
  });

  it('a failed rollover poisons the counter and the value stays recoverable', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    await c.increment(5);
    disk.injectFault({ op: 'open', code: 'ENOSPC' });
    expect(await rejectionCode(c.increment())).toBe('POISONED');
    await c.close();
    disk.powerLoss();
    const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    expect(again.value).toBe(5);
    expect(await again.increment()).toBe(6);
  });

  it('a failed fdatasync while opening is an IO error and releases the lock', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const first = await Obelisk.open(PATH, { fs: disk });
    await first.increment(4);
    await first.close();
    disk.injectFault({ op: 'datasync', code: 'EIO' });
    expect(await rejectionCode(Obelisk.open(PATH, { fs: disk }))).toBe('IO');
    const c = await Obelisk.open(PATH, { fs: disk });
    expect(c.value).toBe(4);
  });
});
