import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Obelisk } from '../src/index.js';
import { rejectionCode } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obelisk-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

describe('Obelisk on real files', () => {
  it('creates the counter file and keeps its size equal to the value', async () => {
    const path = join(dir, 'basic');
    const c = await Obelisk.open(path);
    expect(c.value).toBe(0);
    await c.increment(5);
    expect(await c.reserve(3)).toEqual({ first: 6, last: 8 });
    expect(statSync(path).size).toBe(8);
    await c.close();
    const again = await Obelisk.open(path);
    expect(again.value).toBe(8);
    await again.close();
  });

  it('stays sparse: after a million increments the file has ~0 allocated blocks', async () => {
    const path = join(dir, 'sparse');
    const c = await Obelisk.open(path);
    const perRound = 1000; // concurrent callers, so each round is one group commit
    for (let round = 0; round < 1000; round++) {
      await Promise.all(Array.from({ length: perRound }, () => c.increment()));
    }
    expect(c.value).toBe(1_000_000);
    const st = statSync(path);
    expect(st.size).toBe(1_000_000);
    expect(st.blocks * 512).toBeLessThanOrEqual(4096); // not the ~1 MB that written zero bytes would take
    await c.close();
  });

  it('refuses a second opener in the same process with LOCKED, and allows it after close', async () => {
    const path = join(dir, 'locked');
    const c = await Obelisk.open(path);
    expect(await rejectionCode(Obelisk.open(path))).toBe('LOCKED');
    await c.close();
    const again = await Obelisk.open(path);
    await again.close();
  });

  it('rolls over on a real directory and recovers from the live segment', async () => {
    const sub = join(dir, 'roll');
    mkdirSync(sub);
    const path = join(sub, 'ctr');
    const c = await Obelisk.open(path, { maxFileSize: 100 });
    await c.advanceTo(250);
    expect(await c.increment()).toBe(251);
    await c.close();
    expect(execFileSync('ls', [sub], { encoding: 'utf8' }).trim()).toBe('ctr.seg-250');
    const again = await Obelisk.open(path, { maxFileSize: 100 });
    expect(again.value).toBe(251);
    await again.close();
  });
});

describe('clear errors for bad locations', () => {
  it('a path that is a directory', async () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    await expect(Obelisk.open(path)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('is a directory') });
  });

  it('a path below a regular file', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    await expect(Obelisk.open(join(file, 'counter'))).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('ENOTDIR') });
  });

  it('a directory that does not exist', async () => {
    await expect(Obelisk.open(join(dir, 'missing', 'counter'))).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining('ENOENT (the directory does not exist)'),
    });
  });

  it.runIf(existsSync('/sys/kernel'))('a location that refuses new files even to root (sysfs)', async () => {
    await expect(Obelisk.open('/sys/kernel/obelisk-counter')).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('/sys/kernel/obelisk-counter') });
  });

  // Root bypasses permission bits, so as root the honest read-only case is an immutable file.
  it.runIf(isRoot)('an existing counter file that is immutable (chattr +i, as root)', async (ctx) => {
    const path = join(dir, 'immutable');
    writeFileSync(path, '');
    try {
      execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // this file system or container does not support immutable files
    }
    try {
      await expect(Obelisk.open(path)).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('EPERM') });
    } finally {
      execFileSync('chattr', ['-i', path]);
    }
  });

  it.runIf(!isRoot)('an existing counter file that is read-only or unreadable (not root)', async () => {
    const ro = join(dir, 'read-only');
    writeFileSync(ro, '');
    chmodSync(ro, 0o444);
    await expect(Obelisk.open(ro)).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('EACCES') });
    const unreadable = join(dir, 'unreadable');
    writeFileSync(unreadable, '');
    chmodSync(unreadable, 0o000);
    await expect(Obelisk.open(unreadable)).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('EACCES') });
  });
});
