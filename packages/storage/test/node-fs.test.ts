import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDirDurable, nodeFileSystem as fs, openLocked, readAll, unlinkIfExists } from '../src/index.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-storage-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('nodeFileSystem', () => {
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
    await t.close();
    expect((await fs.readdir(d)).sort()).toEqual(['log']);
    expect(await unlinkIfExists(fs, join(d, 'log'))).toBe(true);
    expect(await unlinkIfExists(fs, join(d, 'log'))).toBe(false);
    await expect(fs.unlink(join(d, 'log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
