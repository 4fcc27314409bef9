import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalFsFrom, openShardJournal, SHARD_JOURNAL_DIR, SimulatedJournalFs } from './index.js';

const hooks = { onRecord: () => undefined, snapshot: () => [] };

describe('openShardJournal', () => {
  it('opens the journal in <shard dir>/journal on disk when the bag names no file layer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pharaoh-shard-journal-'));
    try {
      const j = await openShardJournal<{ n: number }>(dir, hooks, { journalFs: 'not a file layer' });
      await j.append({ n: 1 });
      await j.close();
      expect(await readdir(dir)).toEqual([SHARD_JOURNAL_DIR]);
      const seen: unknown[] = [];
      await (await openShardJournal(dir, { ...hooks, onRecord: (r) => seen.push(r) })).close();
      expect(seen).toEqual([{ n: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses the file layer under journalFs in the bag, so a test can fail the shard on demand', async () => {
    const fs = new SimulatedJournalFs();
    expect(journalFsFrom({ journalFs: fs })).toBe(fs);
    const j = await openShardJournal<{ n: number }>('/data/7', hooks, { journalFs: fs });
    await j.append({ n: 1 });
    expect(fs.list().some((p) => p.startsWith('/data/7/journal/'))).toBe(true);
    fs.injectFault({ op: 'datasync', code: 'EIO' });
    await expect(j.append({ n: 2 })).rejects.toBeDefined();
    await j.close().catch(() => undefined);
  });
});
