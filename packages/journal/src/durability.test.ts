/**
 * What an open makes durable: everything it replays (before the first record
 * is delivered), the log's entry and the directory's entry; and with
 * `mustExist`, what it refuses instead of starting an empty journal.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { HEADER } from './codec.js';
import { JournalError, JournalErrorCode } from './index.js';
import { LOG_NAME } from './recovery.js';
import { openList, settle } from './test-util.js';

const SHARD = '/data/txcoord/shard-4';
const DIR = join(SHARD, 'journal');

interface Rec {
  n: number;
}

/** Wait (bounded) until `cond` holds, letting the simulator's operations run. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('replay is durable before it is served', () => {
  it('keeps a record that a process death cut before its fdatasync returned, once the next open replayed it, across a power cut', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: [SHARD] });
      const first = await openList<Rec>(DIR, fs);
      await first.journal.append({ n: 0 });
      const syncsBefore = fs.stats.ops.datasync;
      const release = fs.hold('datasync');
      const cut = settle(first.journal.append({ n: 1 }));
      await until(() => fs.stats.ops.datasync > syncsBefore); // written; its fdatasync is running
      fs.killProcess();
      release();
      expect((await cut).ok).toBe(false);

      // The page cache still holds { n: 1 }: the restart replays it (and may serve it).
      const second = await openList<Rec>(DIR, fs);
      expect(second.records).toEqual([{ n: 0 }, { n: 1 }]);
      fs.powerLoss();

      const third = await openList<Rec>(DIR, fs);
      expect(third.records, `seed ${seed}`).toEqual([{ n: 0 }, { n: 1 }]);
      await third.journal.close();
    }
  });

  it('keeps an acknowledged append made on a log whose compaction rename a process death left unsynced, across a power cut', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: [SHARD] });
      const first = await openList<Rec>(DIR, fs);
      for (let n = 0; n < 3; n++) {
        await first.journal.append({ n });
        first.records.push({ n });
      }
      const renames = fs.stats.ops.rename;
      const dirSyncs = fs.stats.ops.syncDir;
      const release = fs.hold('syncDir');
      const compacting = settle(first.journal.compact());
      await until(() => fs.stats.ops.rename > renames && fs.stats.ops.syncDir > dirSyncs); // renamed; the directory fsync is running
      fs.killProcess();
      release();
      expect((await compacting).ok).toBe(false);

      // The restart appends to the compacted log, whose name only the page cache holds.
      const second = await openList<Rec>(DIR, fs);
      expect(second.records).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      await second.journal.append({ n: 3 });
      fs.powerLoss();

      const third = await openList<Rec>(DIR, fs);
      expect(third.records, `seed ${seed}`).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
      await third.journal.close();
    }
  });
});

describe('the journal directory is durable', () => {
  it('keeps the journal directory, and an acknowledged record in it, across a power cut right after the first open', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: [SHARD] });
      const first = await openList<Rec>(DIR, fs);
      await first.journal.append({ n: 7 });
      fs.powerLoss();
      expect(fs.exists(DIR), `seed ${seed}`).toBe(true);
      // The shard has served (its record was acknowledged): its journal must be there.
      const again = await openList<Rec>(DIR, fs, { mustExist: true });
      expect(again.records, `seed ${seed}`).toEqual([{ n: 7 }]);
      await again.journal.close();
    }
  });
});

describe('mustExist', () => {
  async function refusal(fs: SimulatedFs): Promise<JournalError> {
    const r = await settle(openList<Rec>(DIR, fs, { mustExist: true }));
    expect(r.ok).toBe(false);
    const err = (r as { err: unknown }).err;
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe(JournalErrorCode.MISSING);
    return err as JournalError;
  }

  it('refuses a missing journal directory and creates nothing', async () => {
    const fs = new SimulatedFs({ dirs: [SHARD] });
    const err = await refusal(fs);
    expect(err.message).toContain(`journal ${DIR} is missing`);
    expect(err.message).toMatch(/issued IDs before/);
    expect(err.message).toMatch(/Restore the shard directory/);
    expect(fs.list(SHARD)).toEqual([]);
    expect(fs.stats.ops.open + fs.stats.ops.mkdir + fs.stats.ops.write).toBe(0);
  });

  it('refuses a journal directory without a log, and one whose log is shorter than its header, writing nothing', async () => {
    const fs = new SimulatedFs({ dirs: [DIR] });
    expect((await refusal(fs)).message).toContain(`has no ${LOG_NAME}`);
    expect(fs.list(DIR)).toEqual([]);
    fs.setFile(join(DIR, LOG_NAME), HEADER.subarray(0, 5));
    expect((await refusal(fs)).message).toContain('shorter than its 8-byte header');
    expect(fs.contents(join(DIR, LOG_NAME))).toEqual(Buffer.from(HEADER.subarray(0, 5)));
    expect(fs.stats.ops.write + fs.stats.ops.truncate + fs.stats.ops.unlink).toBe(0);
  });

  it('opens a journal that exists, even one with no record yet', async () => {
    const fs = new SimulatedFs({ dirs: [SHARD] });
    await (await openList<Rec>(DIR, fs)).journal.close();
    const again = await openList<Rec>(DIR, fs, { mustExist: true });
    expect(again.records).toEqual([]);
    await again.journal.append({ n: 1 });
    await again.journal.close();
  });
});
