import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDirDurable, nodeFileSystem, openLocked, readAll, unlinkIfExists, type FileSystem } from '../src/index.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-storage-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const views: Array<[string, FileSystem]> = [
  ['nodeFileSystem (thread pool)', nodeFileSystem],
  ['nodeFileSystem.blocking() (start-up view)', nodeFileSystem.blocking!()],
];

describe.each(views)('%s', (_name, fs) => {
  it('writes, reads, truncates sparsely and syncs real files', async () => {
    const d = tmp();
    const h = await fs.open(join(d, 'f'), { create: true });
    await h.write(Buffer.from('hello'), 0);
    await h.truncate(1 << 30);
    await h.datasync();
    await fs.syncDir(d);
    expect(await h.size()).toBe(1 << 30);
    const buf = Buffer.alloc(5);
    expect(await h.read(buf, 5, 0)).toBe(5);
    expect(buf.toString()).toBe('hello');
    await h.close();
    expect(await fs.stat(join(d, 'f'))).toEqual({ size: 1 << 30, isDirectory: false });
    expect(await fs.stat(join(d, 'missing'))).toBeUndefined();
  });

  it('holds an exclusive lock against a second handle until it is closed', async () => {
    const d = tmp();
    const a = await openLocked(fs, join(d, 'lock'));
    expect(a).toBeDefined();
    expect(await openLocked(fs, join(d, 'lock'))).toBeUndefined();
    await a!.close();
    const b = await openLocked(fs, join(d, 'lock'));
    expect(b).toBeDefined();
    await b!.close();
  });

  it('mkdir says whether it created; ensureDirDurable creates every missing level', async () => {
    const d = tmp();
    expect(await fs.mkdir(join(d, 'a'))).toBe(true);
    expect(await fs.mkdir(join(d, 'a'))).toBe(false);
    expect(await ensureDirDurable(fs, join(d, 'x', 'y', 'z'))).toBe(true);
    expect(await ensureDirDurable(fs, join(d, 'x', 'y', 'z'))).toBe(false);
    const h = await fs.open(join(d, 'file'), { create: true });
    await h.close();
    await expect(fs.mkdir(join(d, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(ensureDirDurable(fs, join(d, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('renames atomically, unlinks, and reads a whole file', async () => {
    const d = tmp();
    const t = await fs.open(join(d, 'new'), { create: true });
    await t.write(Buffer.from('contents'), 0);
    await fs.rename(join(d, 'new'), join(d, 'log'));
    expect((await readAll(t)).toString()).toBe('contents');
    const big = Buffer.alloc(10_000 + 7, 'abcdefg');
    await t.write(big, 0);
    expect((await readAll(t)).equals(big)).toBe(true); // more than the first read: the buffer grows
    expect((await readAll(t, 10_007)).equals(big)).toBe(true); // exactly the first read: one more read finds the end
    await t.close();
    expect((await fs.readdir(d)).sort()).toEqual(['log']);
    expect(await unlinkIfExists(fs, join(d, 'log'))).toBe(true);
    expect(await unlinkIfExists(fs, join(d, 'log'))).toBe(false);
    await expect(fs.unlink(join(d, 'log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('syncAll (syncfs via coreutils sync -f) resolves true on a real file system', async () => {
    const d = tmp();
    const h = await fs.open(join(d, 'f'), { create: true });
    await h.write(Buffer.from('x'), 0);
    await h.close();
    expect(await fs.syncAll!(d)).toBe(true);
    await expect(fs.syncAll!(join(d, 'missing'))).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining('missing') });
  });

  it('a handle refuses every call after close (its fd number may belong to another file by then)', async () => {
    const d = tmp();
    const h = await fs.open(join(d, 'f'), { create: true });
    await h.close();
    await expect(h.read(Buffer.alloc(1), 1, 0)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(h.datasync()).rejects.toMatchObject({ code: 'EBADF' });
    await expect(h.close()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('close waits for calls still in flight, so a queued fdatasync never lands on a reused fd', async () => {
    const d = tmp();
    const h = await fs.open(join(d, 'f'), { create: true });
    const big = Buffer.alloc(8 << 20, 1);
    const writing = h.write(big, 0);
    const syncing = h.datasync();
    await h.close();
    // Had close reached the kernel first, the queued write and fdatasync would
    // fail with EBADF (or hit whatever file took the fd number).
    await expect(Promise.all([writing, syncing])).resolves.toBeDefined();
    expect((await fs.stat(join(d, 'f')))?.size).toBe(8 << 20);
  });
});

describe('nodeFileSystem.blocking()', () => {
  it('answers open, stat, readdir and read before the event loop turns (no thread-pool round trip)', async () => {
    const d = tmp();
    const fs = nodeFileSystem.blocking!();
    const h = await nodeFileSystem.open(join(d, 'f'), { create: true });
    await h.write(Buffer.from('x'), 0);
    await h.close();
    let turned = false;
    setImmediate(() => (turned = true));
    const b = await fs.open(join(d, 'f'));
    expect(await b.read(Buffer.alloc(1), 1, 0)).toBe(1);
    expect(await fs.stat(join(d, 'f'))).toEqual({ size: 1, isDirectory: false });
    expect(await fs.readdir(d)).toEqual(['f']);
    await b.close();
    expect(turned).toBe(false);
  });

  it('makes creates blocking only while none of its syncs runs (beside fsyncs they would wait for the journal on the event loop)', async () => {
    const d = tmp();
    const fs = nodeFileSystem.blocking!();
    const settledWithinMicrotasks = async (p: Promise<unknown>): Promise<boolean> => {
      let done = false;
      void p.then(() => (done = true));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      const early = done;
      await p;
      return early;
    };
    expect(await settledWithinMicrotasks(fs.mkdir(join(d, 'quiet')))).toBe(true);
    const h = await fs.open(join(d, 'f'), { create: true });
    await h.write(Buffer.alloc(1 << 20, 1), 0);
    const syncing = h.datasync();
    expect(await settledWithinMicrotasks(fs.mkdir(join(d, 'busy')))).toBe(false);
    await syncing;
    expect(await settledWithinMicrotasks(fs.mkdir(join(d, 'quiet-again')))).toBe(true);
    await h.close();
  });
});
