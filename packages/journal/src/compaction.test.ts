import { describe, expect, it } from 'vitest';
import type { FileSystem } from '@pharaoh/storage';
import { SimulatedFs, type CrashKind } from '@pharaoh/storage/testing';
import { Journal } from './index.js';
import { LOG_NAME } from './recovery.js';
import { memoryLogger, settle } from './test-util.js';

const DIR = '/data/txcoord/shard-9';

interface Put {
  key: string;
  v: number;
}

/** A keyed state (last write wins) applied after each append is acknowledged, as txcoord does. */
async function openKv(fs: FileSystem, extra: { compactAtBytes?: number } = {}) {
  const state = new Map<string, number>();
  const logger = memoryLogger();
  const journal = await Journal.open<Put>(DIR, {
    fs,
    onRecord: (r) => state.set(r.key, r.v),
    snapshot: () => [...state].map(([key, v]) => ({ key, v })),
    logger,
    ...extra,
  });
  const put = async (key: string, v: number): Promise<void> => {
    await journal.append({ key, v });
    state.set(key, v);
  };
  return { journal, state, put, logger };
}

describe('compaction', () => {
  it('rewrites the log as the live state and replays the same state', async () => {
    const fs = new SimulatedFs();
    const kv = await openKv(fs);
    for (let v = 0; v < 200; v++) await kv.put(`k${v % 5}`, v);
    const before = kv.journal.sizeBytes;
    await kv.journal.compact();
    expect(kv.journal.sizeBytes).toBeLessThan(before / 10);
    expect(kv.journal.stats.compactions).toBe(1);
    await kv.put('k0', 1000);
    await kv.journal.close();
    const again = await openKv(fs);
    expect(again.state).toEqual(new Map([['k0', 1000], ['k1', 196], ['k2', 197], ['k3', 198], ['k4', 199]]));
    expect(again.journal.stats.recoveredRecords).toBe(6);
    await again.journal.close();
  });

  it('holds appends made during compaction and writes them after the snapshot, losing none', async () => {
    const fs = new SimulatedFs();
    const kv = await openKv(fs);
    for (let v = 0; v < 50; v++) await kv.put(`k${v % 3}`, v);
    const compacting = kv.journal.compact();
    const during = Array.from({ length: 20 }, (_, i) => kv.put(`d${i % 4}`, 100 + i));
    await compacting;
    await Promise.all(during);
    await kv.journal.close();
    const again = await openKv(fs);
    expect(again.state).toEqual(kv.state);
    expect(again.state.get('d3')).toBe(119);
    await again.journal.close();
  });

  it('compacts automatically when the log reaches compactAtBytes, keeping the file bounded', async () => {
    const fs = new SimulatedFs();
    const kv = await openKv(fs, { compactAtBytes: 4096 });
    let maxSize = 0;
    for (let v = 0; v < 3000; v++) {
      await kv.put(`k${v % 10}`, v);
      maxSize = Math.max(maxSize, kv.journal.sizeBytes);
    }
    expect(kv.journal.stats.compactions).toBeGreaterThan(5);
    expect(maxSize).toBeLessThan(4096 + 1024);
    expect(kv.logger.lines.some((l) => l.msg === 'journal: compacted')).toBe(true);
    await kv.journal.close();
    const again = await openKv(fs);
    expect(again.state).toEqual(kv.state);
    await again.journal.close();
  });

  it('does not rewrite back to back when the live state itself exceeds compactAtBytes', async () => {
    const fs = new SimulatedFs();
    const kv = await openKv(fs, { compactAtBytes: 512 });
    for (let v = 0; v < 400; v++) await kv.put(`distinct-${v}`, v);
    // Live state is ~6 KB; doubling the trigger after each compaction keeps rewrites logarithmic.
    expect(kv.journal.stats.compactions).toBeLessThan(10);
    await kv.journal.close();
    expect((await openKv(fs)).state.size).toBe(400);
  });

  it('leaves a readable journal with exactly the state when a process death or power cut hits any step of compaction', async () => {
    let crashPoints = 0;
    for (const kind of ['process', 'power'] as CrashKind[]) {
      for (const seed of [1, 2, 3]) {
        for (let k = 1; ; k++) {
          const fs = new SimulatedFs({ seed: seed * 1000 + k });
          const kv = await openKv(fs);
          const lastAcked = new Map<string, number>();
          const attempted = new Map<string, Set<number>>();
          const put = async (key: string, v: number): Promise<void> => {
            attempted.set(key, (attempted.get(key) ?? new Set()).add(v));
            await kv.put(key, v);
            lastAcked.set(key, v);
          };
          for (let v = 0; v < 30; v++) await put(`k${v % 4}`, v);

          const faultsBefore = fs.stats.processDeaths + fs.stats.powerLosses;
          fs.crashAfterOps(k, kind);
          const compacting = settle(kv.journal.compact());
          const during = Array.from({ length: 6 }, (_, i) => settle(put(`k${i % 5}`, 100 + i)));
          await compacting;
          await Promise.all(during);
          fs.cancelCrash();
          const crashedDuring = fs.stats.processDeaths + fs.stats.powerLosses > faultsBefore;
          if (!crashedDuring) fs.powerLoss();

          const again = await openKv(fs);
          for (const [key, v] of lastAcked) {
            const got = again.state.get(key);
            expect(got, `${kind} at op ${k}, seed ${seed}: key ${key}`).toBeDefined();
            expect(got!).toBeGreaterThanOrEqual(v);
          }
          for (const [key, v] of again.state) expect(attempted.get(key)?.has(v), `${kind} at op ${k}: ${key}=${v}`).toBe(true);
          expect(fs.list(DIR)).toContain(LOG_NAME);
          await again.journal.close();
          if (!crashedDuring) break;
          crashPoints++;
        }
      }
    }
    // Seven operations: open, write, datasync, rename and syncDir of the new log, then
    // the held appends' write and datasync. Each was hit by both kinds of fault, three seeds each.
    expect(crashPoints).toBeGreaterThanOrEqual(2 * 3 * 7);
  });
});
