import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@pharaoh/obelisk';
import { SimulatedJournalFs } from './index.js';

describe('SimulatedJournalFs', () => {
  it('loses written bytes that were not fdatasynced when the power is cut', async () => {
    const fs = new SimulatedJournalFs();
    const f = await fs.open('/d/a', { create: true });
    await fs.fsyncDir('/d');
    await f.write(Buffer.from('durable'), 0);
    await f.datasync();
    await f.write(Buffer.from('-volatile'), 7);
    fs.crash(() => 0); // roll 0: nothing beyond the last sync survives
    expect(fs.contents('/d/a')!.toString()).toBe('durable');
  });

  it('may keep any prefix of unsynced bytes, sometimes garbled, but never alters synced bytes', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const fs = new SimulatedJournalFs();
      const f = await fs.open('/d/a', { create: true });
      await fs.fsyncDir('/d');
      await f.write(Buffer.from('SYNCED'), 0);
      await f.datasync();
      await f.write(Buffer.from('abcdefgh'), 6);
      fs.crash(mulberry32(seed));
      const after = fs.contents('/d/a')!;
      expect(after.subarray(0, 6).toString()).toBe('SYNCED');
      expect(after.length).toBeLessThanOrEqual(14);
      const tail = after.subarray(6).toString('latin1');
      outcomes.add('abcdefgh'.startsWith(tail) ? `prefix${tail.length}` : 'garbled');
    }
    expect(outcomes.has('prefix0')).toBe(true);
    expect(outcomes.has('prefix8')).toBe(true);
    expect(outcomes.has('garbled')).toBe(true);
    expect(outcomes.size).toBeGreaterThan(5);
  });

  it('makes creates and renames durable only after the directory is fsynced', async () => {
    const fs = new SimulatedJournalFs();
    const f = await fs.open('/d/new', { create: true });
    await f.write(Buffer.from('x'), 0);
    await f.datasync();
    fs.crash(() => 0);
    expect(fs.list()).toEqual([]);

    const g = await fs.open('/d/tmp', { create: true });
    await g.write(Buffer.from('y'), 0);
    await g.datasync();
    await fs.fsyncDir('/d');
    await fs.rename('/d/tmp', '/d/log');
    fs.crash(() => 0);
    expect(fs.list()).toEqual(['/d/tmp']);
    await fs.rename('/d/tmp', '/d/log');
    await fs.fsyncDir('/d');
    fs.crash(() => 0);
    expect(fs.list()).toEqual(['/d/log']);
    expect(fs.contents('/d/log')!.toString()).toBe('y');
  });

  it('injects a fault after the given number of successful calls, the given number of times', async () => {
    const fs = new SimulatedJournalFs();
    const f = await fs.open('/d/a', { create: true });
    fs.injectFault({ op: 'datasync', code: 'EIO', after: 2, times: 2 });
    await f.datasync();
    await f.datasync();
    await expect(f.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await expect(f.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await f.datasync();
    expect(fs.counts.datasync).toBe(5);
  });

  it('fails every call of a process view and its files after a crash', async () => {
    const fs = new SimulatedJournalFs();
    const view = fs.process();
    const f = await view.open('/d/a', { create: true });
    fs.crash(() => 0); // the create was never fsynced into the directory: it is gone
    await expect(f.write(Buffer.from('z'), 0)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(view.unlink('/d/a')).rejects.toMatchObject({ code: 'EBADF' });
    await expect(fs.process().stat('/d/a')).resolves.toBeUndefined();
  });

  it('fails the operation that a scheduled crash interrupts', async () => {
    const fs = new SimulatedJournalFs();
    const f = await fs.open('/d/a', { create: true });
    fs.crashAfterOps(1);
    await f.write(Buffer.from('a'), 0);
    await expect(f.datasync()).rejects.toMatchObject({ code: 'EBADF' });
    expect(fs.crashes).toBe(1);
  });
});
