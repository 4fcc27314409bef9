import { describe, expect, it } from 'vitest';
import { SimulatedDisk, mulberry32 } from '../src/index.js';
import { settle } from './helpers.js';

describe('SimulatedDisk', () => {
  it('loses the volatile size on a crash and keeps the size made durable by datasync', async () => {
    const disk = new SimulatedDisk();
    const h = await disk.open('/d/f', true);
    await disk.syncDir('/d');
    await h.truncate(10);
    await h.datasync();
    await h.truncate(20);
    expect(disk.sizeOf('/d/f')).toBe(20);
    expect(disk.durableSizeOf('/d/f')).toBe(10);
    disk.crash();
    expect(disk.sizeOf('/d/f')).toBe(10);
  });

  it('keeps a created or removed directory entry only after syncDir', async () => {
    const disk = new SimulatedDisk();
    await (await disk.open('/d/a', true)).close();
    await (await disk.open('/d/b', true)).close();
    await disk.syncDir('/d');
    await (await disk.open('/d/c', true)).close();
    await disk.unlink('/d/a');
    expect(disk.list('/d')).toEqual(['b', 'c']);
    expect(disk.list('/d', true)).toEqual(['a', 'b']);
    disk.crash();
    expect(disk.list('/d')).toEqual(['a', 'b']);
  });

  it('kills every handle and releases every lock on a crash', async () => {
    const disk = new SimulatedDisk();
    const h = await disk.open('/d/f', true);
    await disk.syncDir('/d');
    expect(await h.tryLock()).toBe(true);
    const other = await disk.open('/d/f', false);
    expect(await other.tryLock()).toBe(false);
    disk.crash();
    await expect(h.truncate(5)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(other.size()).rejects.toMatchObject({ code: 'EBADF' });
    const fresh = await disk.open('/d/f', false);
    expect(await fresh.tryLock()).toBe(true);
  });

  it('a process view stops working after a crash while the disk itself keeps working', async () => {
    const disk = new SimulatedDisk();
    const view = disk.forProcess();
    await view.open('/d/f', true);
    disk.crash();
    await expect(view.open('/d/g', true)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(view.readdir('/d')).rejects.toMatchObject({ code: 'EBADF' });
    expect(await disk.readdir('/d')).toEqual([]);
  });

  it('injects a fault after skipping calls, for the given number of times', async () => {
    const disk = new SimulatedDisk();
    const h = await disk.open('/d/f', true);
    disk.injectFault({ op: 'datasync', code: 'ENOSPC', after: 1, times: 2 });
    await h.datasync();
    await expect(h.datasync()).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(h.datasync()).rejects.toMatchObject({ code: 'ENOSPC' });
    await h.datasync();
  });

  it('refuses a truncate beyond its maximum file size with EFBIG', async () => {
    const disk = new SimulatedDisk({ maxFileSize: 100 });
    const h = await disk.open('/d/f', true);
    await h.truncate(100);
    await expect(h.truncate(101)).rejects.toMatchObject({ code: 'EFBIG' });
  });

  it('holds an operation at a gate until released', async () => {
    const disk = new SimulatedDisk();
    const h = await disk.open('/d/f', true);
    const release = disk.hold('datasync');
    let done = false;
    const p = h.datasync().then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    release();
    await p;
    expect(done).toBe(true);
  });

  it('crashes when the scheduled operation starts, before it takes effect', async () => {
    const disk = new SimulatedDisk();
    const h = await disk.open('/d/f', true);
    await disk.syncDir('/d');
    await h.truncate(3);
    disk.crashAfterOps(2);
    await h.datasync();
    await expect(h.truncate(9)).rejects.toMatchObject({ code: 'EBADF' });
    expect(disk.stats.crashes).toBe(1);
    expect(disk.sizeOf('/d/f')).toBe(3);
  });

  it('mulberry32 is deterministic per seed and stays in [0, 1)', () => {
    const a = mulberry32(9);
    const b = mulberry32(9);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
