import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { JournalErrorCode, openShardJournal, SHARD_JOURNAL_DIR } from './index.js';

const hooks = { onRecord: () => undefined, snapshot: () => [] };

describe('openShardJournal', () => {
  it('opens the journal in <shard dir>/journal on real files by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pharaoh-shard-journal-'));
    try {
      const j = await openShardJournal<{ n: number }>(dir, hooks);
      await j.append({ n: 1 });
      await j.close();
      expect(await readdir(dir)).toEqual([SHARD_JOURNAL_DIR]);
      const seen: unknown[] = [];
      await (await openShardJournal(dir, { ...hooks, onRecord: (r) => seen.push(r), mustExist: true })).close();
      expect(seen).toEqual([{ n: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses the file system it is given (the shard context\'s), so a test can fail the shard on demand', async () => {
    const fs = new SimulatedFs({ dirs: ['/data/7'] });
    const j = await openShardJournal<{ n: number }>('/data/7', { ...hooks, fs });
    await j.append({ n: 1 });
    expect(fs.list('/data/7/journal')).toContain('journal.log');
    fs.injectFault({ op: 'datasync', code: 'EIO' });
    await expect(j.append({ n: 2 })).rejects.toBeDefined();
    await j.close().catch(() => undefined);
  });

  it('refuses a shard that has served before but has no journal, with a message that says what to do', async () => {
    const fs = new SimulatedFs({ dirs: ['/data/7'] });
    const err = await openShardJournal('/data/7', { ...hooks, fs, mustExist: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'JournalError', code: JournalErrorCode.MISSING });
    expect((err as Error).message).toMatch(/issued IDs before/);
    expect((err as Error).message).toMatch(/Restore the shard directory/);
    expect(fs.list('/data/7')).toEqual([]);
  });
});
