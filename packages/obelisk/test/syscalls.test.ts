/**
 * Which syscalls a group-commit round makes on real files (nodeFileSystem):
 * the ftruncate that grows the file runs on the event loop (ftruncateSync),
 * the fdatasync on the thread pool — one pool round trip per round, not two.
 * Counted by wrapping node:fs's functions (the storage layer calls them
 * through its namespace import, kept in step by syncBuiltinESMExports).
 */
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Obelisk } from '../src/index.js';

const mutableFs = (fs as unknown as { default: Record<string, unknown> }).default;
const counts = { ftruncate: 0, ftruncateSync: 0, fdatasync: 0, fdatasyncSync: 0 };
const originals = new Map<keyof typeof counts, unknown>();

/** While set, fdatasync callbacks wait for it (a sync held "in flight"). */
let gate: Promise<void> | undefined;

function countCalls(): void {
  for (const name of Object.keys(counts) as Array<keyof typeof counts>) counts[name] = 0;
  for (const name of Object.keys(counts) as Array<keyof typeof counts>) {
    const original = mutableFs[name] as (...args: unknown[]) => unknown;
    originals.set(name, original);
    mutableFs[name] = (...args: unknown[]) => {
      counts[name]++;
      if (name === 'fdatasync' && gate !== undefined) {
        const held = gate;
        const cb = args.pop() as (...r: unknown[]) => void;
        return original(...args, (...r: unknown[]) => void held.then(() => cb(...r)));
      }
      return original(...args);
    };
  }
  syncBuiltinESMExports();
}

function restore(): void {
  for (const [name, original] of originals) mutableFs[name] = original;
  originals.clear();
  syncBuiltinESMExports();
}

/** Wait (at most 2 s, in 1 ms steps) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obelisk-syscalls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(restore);

describe('Obelisk on real files: syscalls per group-commit round', () => {
  it('grows the file with a blocking ftruncate and syncs it on the thread pool, one of each per round', async () => {
    const c = await Obelisk.open(join(dir, 'rounds'));
    countCalls();
    const rounds = 20;
    for (let r = 0; r < rounds; r++) {
      // 8 concurrent callers: one round each time.
      const values = await Promise.all(Array.from({ length: 8 }, () => c.increment()));
      expect(values).toEqual(Array.from({ length: 8 }, (_, i) => r * 8 + i + 1));
    }
    expect(counts).toEqual({ ftruncate: 0, ftruncateSync: rounds, fdatasync: rounds, fdatasyncSync: 0 });
    restore();
    await c.close();
    const again = await Obelisk.open(join(dir, 'rounds'));
    expect(again.value).toBe(rounds * 8);
    await again.close();
  });

  it('sends the ftruncate to the thread pool while another sync of the process is in flight', async () => {
    const a = await Obelisk.open(join(dir, 'a'));
    const b = await Obelisk.open(join(dir, 'b'));
    countCalls();
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    try {
      const first = a.increment();
      await until(() => counts.fdatasync === 1);
      expect(counts).toMatchObject({ ftruncateSync: 1, fdatasync: 1 });
      // a's fdatasync is held in flight: b's ftruncate must not block the event loop beside it.
      const second = b.increment();
      await until(() => counts.fdatasync === 2);
      expect(counts).toEqual({ ftruncate: 1, ftruncateSync: 1, fdatasync: 2, fdatasyncSync: 0 });
      open();
      expect(await Promise.all([first, second])).toEqual([1, 1]);
    } finally {
      gate = undefined;
      open();
    }
    restore();
    await Promise.all([a.close(), b.close()]);
  });
});
