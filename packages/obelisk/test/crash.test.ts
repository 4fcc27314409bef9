import { SimulatedFs } from '@pharaoh/storage/testing';
import { describe, expect, it } from 'vitest';
import { Obelisk } from '../src/index.js';
import { settle } from './helpers.js';

const PATH = '/data/counter';

/**
 * Hand-picked fault chains. The seeded exploration over many schedules is
 * crash-explore.test.ts; these pin the chains that matter most by name.
 */
describe('crash chains', () => {
  it('a process death between ftruncate and fdatasync, a restart, then a power cut: the value the restart reported survives', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk });
    expect(await c.increment(3)).toBe(3);
    const release = disk.hold('datasync');
    const lost = c.increment(7).catch(() => 'died');
    await settle();
    expect(disk.sizeOf(PATH)).toBe(10); // in the page cache only
    disk.killProcess();
    release();
    expect(await lost).toBe('died');

    const restarted = await Obelisk.open(PATH, { fs: disk });
    expect(restarted.value).toBe(10); // read from the page cache ...
    expect(disk.durableSizeOf(PATH)).toBe(10); // ... and made durable before open resolved
    disk.powerLoss();

    const afterCut = await Obelisk.open(PATH, { fs: disk });
    expect(afterCut.value).toBe(10);
    expect(await afterCut.increment()).toBe(11);
  });

  it('a process death leaves the value in the page cache; the dead counter can no longer touch the disk', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    const c = await Obelisk.open(PATH, { fs: disk });
    await c.increment(5);
    disk.killProcess();
    expect(await c.increment().catch((e: { code?: string }) => e.code)).toBe('POISONED');
    const again = await Obelisk.open(PATH, { fs: disk });
    expect(again.value).toBe(5);
    expect(disk.sizeOf(PATH)).toBe(5);
  });

  it('a counter created by a process that died before its directory fsync is made durable by the next opener', async () => {
    const disk = new SimulatedFs({ dirs: ['/data'] });
    disk.crashAfterOps(6, 'process'); // readdir, open(create), fstat, lock, readdir, then the directory fsync
    await expect(Obelisk.open(PATH, { fs: disk })).rejects.toMatchObject({ code: 'IO' });
    expect(disk.stats.processDeaths).toBe(1);
    expect(disk.list('/data')).toEqual(['counter']); // in the page cache ...
    expect(disk.list('/data', true)).toEqual([]); // ... not on disk

    const restarted = await Obelisk.open(PATH, { fs: disk });
    expect(await restarted.advanceTo(50)).toBe(50);
    expect(disk.list('/data', true)).toEqual(['counter']);
    disk.powerLoss();

    const afterCut = await Obelisk.open(PATH, { fs: disk });
    expect(afterCut.value).toBe(50);
  });

  it('is reproducible: the same seed gives the same run', async () => {
    const run = async (disk: SimulatedFs) => {
      const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 7 });
      disk.crashAfterOps(37, 'power');
      const out: number[] = [];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 20; i++) out.push(await c.increment().catch(() => -1));
        }),
      );
      return { out, ops: disk.stats.ops, files: disk.list('/data', true), sizes: disk.list('/data').map((n) => disk.sizeOf(`/data/${n}`)) };
    };
    expect(await run(new SimulatedFs({ seed: 42, dirs: ['/data'] }))).toEqual(await run(new SimulatedFs({ seed: 42, dirs: ['/data'] })));
  });
});
