/**
 * A full disk, for real: a txcoord process (`pharaoh serve`, as production
 * runs it) on a 1 MiB tmpfs. Fault model: ENOSPC from the kernel while the
 * process stays alive (no crash, no power loss). Invariants: every commit
 * acknowledged before and during the full spell stays committed, no txId is
 * issued twice or below an earlier one, and the shard comes back by itself
 * once space is freed (no restart). Needs root (mount); skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, REPO_ROOT, startApp, stopApp, type RunningApp } from '@pharaoh/testkit';

function tmpfsAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a size-limited tmpfs';
  const probe = mkdtempSync(join(tmpdir(), 'pharaoh-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'mount -t tmpfs is not allowed here';
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const skip = tmpfsAvailable();
if (skip !== undefined) console.warn(`disk-full test skipped: ${skip}`);

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function readyz(app: RunningApp): Promise<{ status: number; unavailable: number[]; causes?: Record<string, string> }> {
  const res = await fetch(`${app.httpUrl}/readyz`);
  const body = (await res.json()) as { unavailable: number[]; causes?: Record<string, string> };
  return { status: res.status, unavailable: body.unavailable, ...(body.causes ? { causes: body.causes } : {}) };
}

/** Write zeros into `path` until the file system refuses (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (let i = 0; i < 1 << 16; i++) writeSync(fd, chunk);
    throw new Error('the tmpfs never filled up');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(skip !== undefined)('txcoord on a full disk (real tmpfs, ENOSPC, process alive)', () => {
  it('fails only the shard that needed space, keeps every acknowledged commit, and comes back by itself once space is freed', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'pharaoh-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    cleanups.push(() => {
      execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const app = await startApp(join(REPO_ROOT, 'tools/cli/bin/pharaoh.cjs'), ['serve', 'txcoord', '--shards', '0-1', '--data', join(mnt, 'data'), '--port', '0', '--http-port', '0'], {
      tsx: false,
      name: 'txcoord on tmpfs',
    });
    cleanups.push(async () => void (await stopApp(app)));
    const client = await RawClient.connect(app.url);
    cleanups.push(() => client.ws.terminate());

    const acked: bigint[] = [];
    const issued: bigint[] = [];
    const commitOne = async (): Promise<'ok' | 'unavailable'> => {
      const b = await client.request('tx.begin', { shard: 0 });
      if (b.err) {
        expect(b.err.code).toBe('SHARD_UNAVAILABLE');
        return 'unavailable';
      }
      const txId = (b.ok as { txId: bigint }).txId;
      issued.push(txId);
      const c = await client.request('tx.commit', { txId });
      if (c.err) {
        expect(c.err.code).toBe('SHARD_UNAVAILABLE');
        return 'unavailable';
      }
      acked.push(txId);
      return 'ok';
    };
    for (let i = 0; i < 5; i++) expect(await commitOne()).toBe('ok');

    fill(join(mnt, 'filler'));
    // Commits go on while the journal's current page has room, then one needs a page and fails.
    let outcome: 'ok' | 'unavailable' = 'ok';
    for (let i = 0; i < 5_000 && outcome === 'ok'; i++) outcome = await commitOne();
    expect(outcome).toBe('unavailable');
    expect(await readyz(app)).toEqual({ status: 503, unavailable: [0], causes: { '0': expect.stringMatching(/^ENOSPC: /) } });
    // The other shard of the process keeps serving what needs no space (a begin is not journaled).
    expect((await client.request('tx.begin', { shard: 1 })).err).toBeUndefined();

    rmSync(join(mnt, 'filler'));
    const deadline = Date.now() + 30_000;
    let r = await readyz(app);
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      r = await readyz(app);
    }
    expect(r).toEqual({ status: 200, unavailable: [] });
    for (const txId of acked) expect(await client.ok('tx.status', { txId })).toEqual({ status: 'COMMITTED' });
    const next = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    for (const txId of issued) expect(next.txId).toBeGreaterThan(txId);
    expect(new Set(issued).size).toBe(issued.length);
    expect(await client.ok('tx.commit', { txId: next.txId })).toHaveProperty('commitTs');
    writeFileSync(join(mnt, 'still-writable'), 'x');
  });
});
