import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { MAX_VALUE, Obelisk } from '../src/index.js';
import { rejectionCode, settle } from './helpers.js';

const PATH = '/data/counter';

/** A simulated disk with the counter's directory already there (durably). */
function newDisk(options: { seed?: number; maxDelay?: number } = {}): SimulatedFs {
  return new SimulatedFs({ ...options, dirs: ['/data'] });
}

async function fresh(options: { seed?: number; maxDelay?: number } = {}) {
  const disk = newDisk(options);
  const c = await Obelisk.open(PATH, { fs: disk });
  return { disk, c };
}

describe('Obelisk basics', () => {
  it('starts a new counter at 0 and makes its directory entry durable', async () => {
    const { disk, c } = await fresh();
    expect(c.value).toBe(0);
    expect(disk.list('/data', true)).toEqual(['counter']);
    expect(disk.stats.ops.syncDir).toBeGreaterThanOrEqual(1);
  });

  it('keeps the value as the file size and hands out consecutive values', async () => {
    const { disk, c } = await fresh();
    expect(await c.increment()).toBe(1);
    expect(await c.increment(5)).toBe(6);
    expect(await c.reserve(10)).toEqual({ first: 7, last: 16 });
    expect(c.value).toBe(16);
    expect(disk.sizeOf(PATH)).toBe(16);
    expect(disk.durableSizeOf(PATH)).toBe(16);
  });

  it('does not release a value before fdatasync made it durable', async () => {
    const { disk, c } = await fresh();
    const release = disk.hold('datasync');
    let resolved: number | undefined;
    const p = c.increment().then((v) => (resolved = v));
    await settle();
    expect(disk.sizeOf(PATH)).toBe(1); // ftruncate done ...
    expect(disk.durableSizeOf(PATH)).toBe(0); // ... but not yet durable
    expect(resolved).toBeUndefined();
    expect(c.value).toBe(0);
    release();
    await p;
    expect(resolved).toBe(1);
    expect(disk.durableSizeOf(PATH)).toBe(1);
  });

  it('lets the event loop run timers while a sync is in flight', async () => {
    const { disk, c } = await fresh();
    const release = disk.hold('datasync');
    const p = c.increment();
    const timerRan = await new Promise<boolean>((r) => setTimeout(() => r(true), 5));
    expect(timerRan).toBe(true);
    release();
    expect(await p).toBe(1);
  });

  it('advanceTo raises the durable value, never lowers it, and later increments go above it', async () => {
    const { disk, c } = await fresh();
    expect(await c.advanceTo(1000)).toBe(1000);
    expect(disk.durableSizeOf(PATH)).toBe(1000);
    expect(await c.advanceTo(1000)).toBe(1000);
    expect(await rejectionCode(c.advanceTo(999))).toBe('INVALID_ARGUMENT');
    expect(c.value).toBe(1000);
    expect(await c.increment()).toBe(1001);
  });

  it('advanceTo to a value already promised to a queued increment waits for that sync', async () => {
    const { c } = await fresh();
    const inc = c.increment(10);
    const adv = c.advanceTo(5);
    expect(await adv).toBeGreaterThanOrEqual(10);
    expect(await inc).toBe(10);
  });

  it('reports each sync to onSync with the number of calls it released', async () => {
    const disk = newDisk();
    const infos: { ms: number; waiters: number }[] = [];
    const c = await Obelisk.open(PATH, { fs: disk, onSync: (i) => infos.push(i) });
    await Promise.all(Array.from({ length: 7 }, () => c.increment()));
    expect(infos).toHaveLength(1);
    expect(infos[0]!.waiters).toBe(7);
    expect(infos[0]!.ms).toBeGreaterThanOrEqual(0);
  });

  it('recovers with the same few file operations whatever the value and history', async () => {
    const opsToOpen = async (prepare: (c: Obelisk) => Promise<unknown>) => {
      const disk = newDisk();
      const c = await Obelisk.open(PATH, { fs: disk });
      await prepare(c);
      await c.close();
      disk.powerLoss();
      const before = Object.values(disk.stats.ops).reduce((a, b) => a + b, 0);
      await Obelisk.open(PATH, { fs: disk });
      return Object.values(disk.stats.ops).reduce((a, b) => a + b, 0) - before;
    };
    const small = await opsToOpen((c) => c.increment());
    const huge = await opsToOpen(async (c) => {
      await c.advanceTo(2 ** 50); // past the default segment limit: a rollover
      await c.increment();
    });
    const many = await opsToOpen(async (c) => {
      for (let i = 0; i < 2000; i++) await c.increment();
    });
    expect(huge).toBe(small);
    expect(many).toBe(small);
  });

  it('reopening after close reads the same value', async () => {
    const { disk, c } = await fresh();
    await c.increment(42);
    await c.close();
    const again = await Obelisk.open(PATH, { fs: disk });
    expect(again.value).toBe(42);
    expect(await again.increment()).toBe(43);
  });
});

describe('group commit', () => {
  it('shares one ftruncate and one fdatasync among calls made together', async () => {
    const { disk, c } = await fresh();
    const before = { ...disk.stats.ops };
    const results = await Promise.all([
      ...Array.from({ length: 100 }, () => c.increment()),
      c.reserve(50),
      c.advanceTo(120),
    ]);
    expect(disk.stats.ops.truncate - before.truncate).toBe(1);
    expect(disk.stats.ops.datasync - before.datasync).toBe(1);
    expect(results.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(results[100]).toEqual({ first: 101, last: 150 });
    expect(results[101]).toBe(150);
  });

  it('queues calls made during a sync and covers them all with the next one', async () => {
    const { disk, c } = await fresh();
    const release = disk.hold('datasync');
    const first = c.increment();
    await settle();
    const queued = Array.from({ length: 64 }, () => c.increment());
    await settle();
    expect(disk.stats.ops.truncate).toBe(1); // nothing else started while the first sync runs
    release();
    expect(await first).toBe(1);
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 64 }, (_, i) => i + 2));
    expect(disk.stats.ops.truncate).toBe(2);
    expect(disk.stats.ops.datasync).toBe(2); // two rounds (creating an empty counter needs only the directory fsync)
  });

  it('never has two ftruncates in flight even when operations finish out of order', async () => {
    const { disk, c } = await fresh({ seed: 99, maxDelay: 8 });
    const worker = async () => {
      for (let i = 0; i < 50; i++) await c.increment(1 + (i % 3));
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(disk.stats.maxTruncatesInFlight).toBe(1);
    expect(disk.stats.ops.truncate).toBeLessThan(32 * 50);
  });

  it('hands out unique, per-caller increasing values under concurrency', async () => {
    const { c } = await fresh({ seed: 5, maxDelay: 5 });
    const all = new Set<number>();
    const worker = async () => {
      let last = 0;
      for (let i = 0; i < 100; i++) {
        const v = await c.increment();
        expect(v).toBeGreaterThan(last);
        expect(all.has(v)).toBe(false);
        all.add(v);
        last = v;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(all.size).toBe(1600);
    expect(c.value).toBe(1600);
  });
});

describe('bad input and limits', () => {
  const badCounts: unknown[] = [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, '1', null];

  it.each(badCounts)('refuses increment(%s) and reserve(%s) with INVALID_ARGUMENT, counter unchanged', async (n) => {
    const { disk, c } = await fresh();
    await c.increment(3);
    const ops = { ...disk.stats.ops };
    expect(await rejectionCode(c.increment(n as number))).toBe('INVALID_ARGUMENT');
    expect(await rejectionCode(c.reserve(n as number))).toBe('INVALID_ARGUMENT');
    expect(c.value).toBe(3);
    expect(disk.stats.ops).toEqual(ops);
    expect(await c.increment()).toBe(4);
  });

  it.each([-1, 1.5, NaN, Infinity, 2 ** 53, '7'] as unknown[])('refuses advanceTo(%s) with INVALID_ARGUMENT', async (v) => {
    const { c } = await fresh();
    await c.increment(3);
    expect(await rejectionCode(c.advanceTo(v as number))).toBe('INVALID_ARGUMENT');
    expect(c.value).toBe(3);
    expect(await c.increment()).toBe(4);
  });

  it('counts up to 2^53 - 1 and refuses to pass it with EXHAUSTED, counter unchanged', async () => {
    const { disk, c } = await fresh();
    expect(await c.advanceTo(MAX_VALUE - 2)).toBe(MAX_VALUE - 2);
    expect(await rejectionCode(c.increment(3))).toBe('EXHAUSTED');
    expect(await rejectionCode(c.reserve(3))).toBe('EXHAUSTED');
    expect(c.value).toBe(MAX_VALUE - 2);
    expect(await c.reserve(2)).toEqual({ first: MAX_VALUE - 1, last: MAX_VALUE });
    expect(await rejectionCode(c.increment())).toBe('EXHAUSTED');
    expect(c.value).toBe(MAX_VALUE);
    disk.powerLoss();
    const again = await Obelisk.open(PATH, { fs: disk });
    expect(again.value).toBe(MAX_VALUE);
    expect(await rejectionCode(again.increment())).toBe('EXHAUSTED');
  });

  it.each([{ maxFileSize: 0 }, { maxFileSize: -5 }, { maxFileSize: 1.5 }, { onSync: 3 }] as object[])(
    'refuses bad options %o with INVALID_ARGUMENT',
    async (options) => {
      expect(await rejectionCode(Obelisk.open(PATH, { fs: newDisk(), ...options }))).toBe('INVALID_ARGUMENT');
    },
  );

  it('refuses a path that is a directory with INVALID_ARGUMENT naming it', async () => {
    const disk = newDisk();
    disk.mkdirp('/data/counter');
    await expect(Obelisk.open(PATH, { fs: disk })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('is a directory'),
    });
  });

  it('reports a read-only location as an IO error that names the path and the errno', async () => {
    const disk = newDisk();
    disk.injectFault({ op: 'open', code: 'EROFS' });
    await expect(Obelisk.open(PATH, { fs: disk })).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/\/data\/counter: EROFS .*read-only/),
    });
  });
});

describe('ownership and closing', () => {
  it('refuses a second opener of the same counter with LOCKED until the first closes', async () => {
    const { disk, c } = await fresh();
    expect(await rejectionCode(Obelisk.open(PATH, { fs: disk }))).toBe('LOCKED');
    await c.close();
    const second = await Obelisk.open(PATH, { fs: disk });
    expect(second.value).toBe(0);
  });

  it('an opener that waited at the lock starts above every value the previous owner handed out meanwhile, and never shrinks the file', async () => {
    const { disk, c: first } = await fresh();
    expect(await first.increment(10)).toBe(10);
    // The second opener lists, opens and stats the counter, then stops at the lock ...
    const locksBefore = disk.stats.ops.lock;
    const release = disk.hold('lock');
    const opening = Obelisk.open(PATH, { fs: disk });
    await settle();
    expect(disk.stats.ops.lock).toBe(locksBefore + 1);
    // ... while the owner hands out more values and then lets go.
    expect(await first.increment(5)).toBe(15);
    expect(await first.reserve(5)).toEqual({ first: 16, last: 20 });
    await first.close();
    release();
    const second = await opening;
    expect(second.value).toBe(20);
    expect(await second.increment()).toBe(21);
    expect(disk.sizeOf(PATH)).toBe(21);
    expect(disk.durableSizeOf(PATH)).toBe(21);
  });

  it('finishes calls queued before close, then rejects new calls with CLOSED', async () => {
    const { c } = await fresh();
    const pending = Promise.all([c.increment(), c.increment()]);
    const closed = c.close();
    expect(await rejectionCode(c.increment())).toBe('CLOSED');
    expect(await rejectionCode(c.reserve(2))).toBe('CLOSED');
    expect(await rejectionCode(c.advanceTo(10))).toBe('CLOSED');
    expect(await pending).toEqual([1, 2]);
    await closed;
    await c.close(); // idempotent
  });
});
