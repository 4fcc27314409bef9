import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { DEFAULT_COMPACT_AT_BYTES, Journal, JournalError, JournalErrorCode } from './index.js';
import { openList, settle } from './test-util.js';

const DIR = '/data/txcoord/shard-1';

interface Rec {
  seq: number;
  id: bigint;
  note: string;
}

const rec = (seq: number): Rec => ({ seq, id: 2n ** 64n - 1n - BigInt(seq), note: `r${seq}` });

describe('Journal', () => {
  it('replays every appended record, in order, with uint64 ids as bigint, after a reopen', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    for (let i = 0; i < 10; i++) await journal.append(rec(i));
    await journal.appendMany([rec(10), rec(11), rec(12)]);
    expect(journal.stats.appends).toBe(13);
    await journal.close();

    const again = await openList<Rec>(DIR, fs);
    expect(again.records).toEqual(Array.from({ length: 13 }, (_, i) => rec(i)));
    expect(typeof again.records[0]!.id).toBe('bigint');
    expect(again.journal.stats.recoveredRecords).toBe(13);
    await again.journal.close();
  });

  it('with rewrite, writes the replayed state anew (a compaction) before open resolves, and fails the open if it cannot', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    for (let i = 0; i < 5; i++) await journal.append(rec(i));
    await journal.close();
    const renames = fs.stats.ops.rename;
    const again = await openList<Rec>(DIR, fs, { rewrite: true });
    expect(again.journal.stats.compactions).toBe(1);
    expect(fs.stats.ops.rename).toBe(renames + 1); // the new log took the name
    await again.journal.close();
    const after = await openList<Rec>(DIR, fs);
    expect(after.records).toEqual(Array.from({ length: 5 }, (_, i) => rec(i)));
    await after.journal.close();
    // A rewrite that fails (a full disk) fails the open and releases the directory.
    fs.injectFault({ op: 'write', code: 'ENOSPC', path: `${DIR}/journal.log.compact` });
    await expect(openList<Rec>(DIR, fs, { rewrite: true })).rejects.toMatchObject({ code: JournalErrorCode.COMPACTION_FAILED });
    const last = await openList<Rec>(DIR, fs);
    expect(last.records).toHaveLength(5);
    await last.journal.close();
  });

  it('keeps records durable across a power cut once append has resolved', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    await Promise.all([journal.append(rec(1)), journal.append(rec(2))]);
    fs.powerLoss();
    const again = await openList<Rec>(DIR, fs);
    expect(again.records).toEqual([rec(1), rec(2)]);
    await again.journal.close();
  });

  it('shares one fdatasync among appends made concurrently (group commit)', async () => {
    const fs = new SimulatedFs();
    const syncs: Array<{ records: number }> = [];
    const { journal } = await openList<Rec>(DIR, fs, { onSync: (s) => syncs.push(s) });
    const before = fs.stats.ops.datasync;
    await Promise.all(Array.from({ length: 500 }, (_, i) => journal.append(rec(i))));
    const used = fs.stats.ops.datasync - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(2);
    expect(journal.stats.syncs).toBe(used);
    expect(syncs.reduce((n, s) => n + s.records, 0)).toBe(500);
    await journal.close();
  });

  it('batches appenders that re-append as soon as they are released into shared syncs', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    const before = fs.stats.ops.datasync;
    let seq = 0;
    const worker = async (): Promise<void> => {
      for (let k = 0; k < 20; k++) await journal.append(rec(seq++));
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const used = fs.stats.ops.datasync - before;
    // 640 appends; each sync covers the whole crowd of waiters released by the previous one.
    expect(used).toBeLessThanOrEqual(40);
    await journal.close();
    const again = await openList<Rec>(DIR, fs);
    expect(again.records.map((r) => r.seq)).toEqual(Array.from({ length: 640 }, (_, i) => i));
    await again.journal.close();
  });

  it('refuses a record larger than maxRecordBytes without writing anything and keeps working', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<{ blob: string }>(DIR, fs, { maxRecordBytes: 100 });
    const size = journal.sizeBytes;
    const err = await journal.append({ blob: 'x'.repeat(200) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe(JournalErrorCode.RECORD_TOO_LARGE);
    expect(journal.sizeBytes).toBe(size);
    // A batch with one oversized record is refused whole.
    await expect(journal.appendMany([{ blob: 'ok' }, { blob: 'y'.repeat(200) }])).rejects.toMatchObject({ code: JournalErrorCode.RECORD_TOO_LARGE });
    await journal.append({ blob: 'fine' });
    expect(journal.failed).toBeUndefined();
    await journal.close();
    const again = await openList<{ blob: string }>(DIR, fs, { maxRecordBytes: 100 });
    expect(again.records).toEqual([{ blob: 'fine' }]);
    await again.journal.close();
  });

  it('resolves an empty appendMany at once without a sync', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    const before = fs.stats.ops.datasync;
    await journal.appendMany([]);
    expect(fs.stats.ops.datasync).toBe(before);
    await journal.close();
  });

  it('finishes appends already made when closed, and refuses appends after close', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    const pending = [journal.append(rec(1)), journal.append(rec(2))];
    const closed = journal.close();
    await expect(journal.append(rec(3))).rejects.toMatchObject({ code: JournalErrorCode.CLOSED });
    await Promise.all(pending);
    await closed;
    await expect(journal.compact()).rejects.toMatchObject({ code: JournalErrorCode.CLOSED });
    const again = await openList<Rec>(DIR, fs);
    expect(again.records).toEqual([rec(1), rec(2)]);
    await again.journal.close();
  });

  it('refuses a second opener of the same directory until the first closes', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    await expect(openList<Rec>(DIR, fs)).rejects.toMatchObject({ code: JournalErrorCode.LOCKED });
    await journal.close();
    const again = await openList<Rec>(DIR, fs);
    await again.journal.close();
  });

  it('validates its options', async () => {
    const fs = new SimulatedFs();
    const base = { fs, onRecord: () => {}, snapshot: () => [] };
    expect(DEFAULT_COMPACT_AT_BYTES).toBeGreaterThan(1024 * 1024);
    for (const bad of [{ compactAtBytes: 0 }, { compactAtBytes: 1.5 }, { maxRecordBytes: -1 }, { maxRecordBytes: 2 ** 40 }, { snapshot: 3 }, { onRecord: undefined }, { mustExist: 'yes' }, { fs: {} }]) {
      const r = await settle(Journal.open(DIR, { ...base, ...bad } as never));
      expect(r.ok).toBe(false);
      expect((r as { err: JournalError }).err.code).toBe(JournalErrorCode.BAD_OPTIONS);
    }
  });

  it('refuses to open when onRecord throws during replay, and releases the directory', async () => {
    const fs = new SimulatedFs();
    const { journal } = await openList<Rec>(DIR, fs);
    await journal.append(rec(1));
    await journal.close();
    const opening = Journal.open<Rec>(DIR, { fs, onRecord: () => { throw new Error('bad state'); }, snapshot: () => [] });
    await expect(opening).rejects.toMatchObject({ code: JournalErrorCode.REPLAY_FAILED });
    const again = await openList<Rec>(DIR, fs);
    expect(again.records).toEqual([rec(1)]);
    await again.journal.close();
  });
});
