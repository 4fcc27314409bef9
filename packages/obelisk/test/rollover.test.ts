import { describe, expect, it } from 'vitest';
import { SimulatedFs, type CrashKind } from '@pharaoh/storage/testing';
import { Obelisk } from '../src/index.js';
import { ReleasedLedger, rejectionCode } from './helpers.js';

const DIR = '/data';
const PATH = '/data/counter';

describe('rollover past the maximum file size', () => {
  it('keeps counting in a new segment named after its base and removes the old one', async () => {
    const disk = new SimulatedFs({ maxFileSize: 10, dirs: [DIR] }); // the "file system" refuses files over 10 bytes
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
    const disk = new SimulatedFs({ dirs: [DIR] });
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 100 });
    expect(await c.advanceTo(1_000_000)).toBe(1_000_000);
    expect(disk.list(DIR, true)).toEqual(['counter.seg-1000000']);
    expect(await c.reserve(100)).toEqual({ first: 1_000_001, last: 1_000_100 });
    expect(disk.sizeOf('/data/counter.seg-1000000')).toBe(100);
  });

  it('recovers the larger value when a crash leaves both the old and the new segment', async () => {
    const disk = new SimulatedFs({ dirs: [DIR] });
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    await c.increment(5);
    disk.injectFault({ op: 'unlink', code: 'EIO' }); // removing the old segment fails: both stay
    expect(await c.increment()).toBe(6);
    disk.powerLoss();
    expect(disk.list(DIR)).toEqual(['counter', 'counter.seg-6']);
    const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    expect(again.value).toBe(6);
    expect(disk.list(DIR, true)).toEqual(['counter.seg-6']); // the stale segment is gone, durably
    expect(await again.increment()).toBe(7);
  });

  it('survives a process death or a power loss at every step of a rollover', async () => {
    let crashesDuringRollover = 0;
    const crashes = (disk: SimulatedFs) => disk.stats.processDeaths + disk.stats.powerLosses;
    for (let k = 1; k <= 16; k++) {
      for (const kind of ['process', 'power'] as CrashKind[]) {
        const disk = new SimulatedFs({ seed: k, dirs: [DIR] });
        const ledger = new ReleasedLedger();
        const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
        ledger.issue(await c.increment(5), 'setup');
        const opsBefore = Object.values(disk.stats.ops).reduce((a, b) => a + b, 0);
        disk.crashAfterOps(k, kind);
        await c
          .increment()
          .then((v) => ledger.issue(v, `k=${k} ${kind}`))
          .catch(() => {});
        if (crashes(disk) === 0) {
          disk.cancelCrash();
          if (kind === 'power') disk.powerLoss();
          else disk.killProcess();
        } else crashesDuringRollover++;
        ledger.crashed();
        expect(Object.values(disk.stats.ops).reduce((a, b) => a + b, 0)).toBeGreaterThan(opsBefore);
        const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
        expect(again.value, `${kind} at op ${k}`).toBeGreaterThanOrEqual(ledger.max);
        ledger.issue(await again.increment(), `after ${kind} at op ${k}`);
        expect(disk.list(DIR).length).toBe(1);
      }
    }
    expect(crashesDuringRollover).toBeGreaterThan(10); // a rollover is ~7 operations: most k hit one of its steps
  });

  it('poisons instead of shrinking a new segment it finds already holding a value, and the reopen counts on from it', async () => {
    const disk = new SimulatedFs({ dirs: [DIR] });
    const c = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    await c.increment(5);
    disk.setFile('/data/counter.seg-6', '', 3); // value 9, made behind the owner's back
    expect(await rejectionCode(c.increment())).toBe('POISONED');
    expect(disk.sizeOf('/data/counter.seg-6')).toBe(3);
    await c.close();
    const again = await Obelisk.open(PATH, { fs: disk, maxFileSize: 5 });
    expect(again.value).toBe(9);
    expect(await again.increment()).toBe(10);
  });

  it('a second opener cannot take over a counter while its owner rolls over', async () => {
    const disk = new SimulatedFs({ seed: 3, maxDelay: 6, dirs: [DIR] });
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
