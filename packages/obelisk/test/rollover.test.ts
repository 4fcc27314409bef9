import { describe, expect, it } from 'vitest';
import { Obelisk, SimulatedDisk } from '../src/index.js';
import { ReleasedLedger, rejectionCode } from './helpers.js';

const DIR = '/data';
const PATH = '/data/counter';

describe('rollover past the maximum file size', () => {
  it('keeps counting in a new segment named after its base and removes the old one', async () => {
    const disk = new SimulatedDisk({ maxFileSize: 10 }); // the "file system" refuses files over 10 bytes
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 10 });
    for (let i = 1; i <= 35; i++) expect(await c.increment()).toBe(i);
    expect(disk.list(DIR)).toEqual(['counter.seg-33']);
    expect(disk.sizeOf('/data/counter.seg-33')).toBe(2);
    expect(c.value).toBe(35);
    await c.close();
    const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 10 });
    expect(again.value).toBe(35);
    expect(await again.increment()).toBe(36);
  });

  it('a jump larger than the limit goes straight into one new segment', async () => {
    const disk = new SimulatedDisk();
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 100 });
    expect(await c.advanceTo(1_000_000)).toBe(1_000_000);
    expect(disk.list(DIR, true)).toEqual(['counter.seg-1000000']);
    expect(await c.reserve(100)).toEqual({ first: 1_000_001, last: 1_000_100 });
    expect(disk.sizeOf('/data/counter.seg-1000000')).toBe(100);
  });

  it('recovers the larger value when a crash leaves both the old and the new segment', async () => {
    const disk = new SimulatedDisk();
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    await c.increment(5);
    disk.injectFault({ op: 'unlink', code: 'EIO' }); // removing the old segment fails: both stay
    expect(await c.increment()).toBe(6);
    disk.crash();
    expect(disk.list(DIR)).toEqual(['counter', 'counter.seg-6']);
    const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    expect(again.value).toBe(6);
    expect(disk.list(DIR, true)).toEqual(['counter.seg-6']); // the stale segment is gone, durably
    expect(await again.increment()).toBe(7);
  });

  it('survives a crash at every step of a rollover', async () => {
    let crashesDuringRollover = 0;
    for (let k = 1; k <= 16; k++) {
      for (const keepVolatile of ['none', 'random'] as const) {
        const disk = new SimulatedDisk({ seed: k });
        const ledger = new ReleasedLedger();
        const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
        ledger.issue(await c.increment(5), 'setup');
        const opsBefore = Object.values(disk.stats.ops).reduce((a, b) => a + b, 0);
        disk.crashAfterOps(k, { keepVolatile });
        await c
          .increment()
          .then((v) => ledger.issue(v, `k=${k}`))
          .catch(() => {});
        if (disk.stats.crashes === 0) disk.crash();
        else crashesDuringRollover++;
        ledger.crashed();
        expect(Object.values(disk.stats.ops).reduce((a, b) => a + b, 0)).toBeGreaterThan(opsBefore);
        const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
        expect(again.value, `crash at op ${k}`).toBeGreaterThanOrEqual(ledger.max);
        ledger.issue(await again.increment(), `after crash at op ${k}`);
        expect(disk.list(DIR).length).toBe(1);
      }
    }
    expect(crashesDuringRollover).toBeGreaterThan(8);
  });

  it('a second opener cannot take over a counter while its owner rolls over', async () => {
    const disk = new SimulatedDisk({ seed: 3, maxDelay: 6 });
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 3 });
    const work = (async () => {
      for (let i = 0; i < 30; i++) await c.increment();
    })();
    for (let i = 0; i < 30; i++) {
      const code = await rejectionCode(Obelisk.open(PATH, { fs: disk, maxFileSize: 3 }));
      expect(['LOCKED', 'IO']).toContain(code);
    }
    await work;
    expect(c.poisoned).toBe(false);
    expect(c.value).toBe(30);
  });
});
