import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFrame, HEADER, HEADER_BYTES } from './codec.js';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { JournalErrorCode } from './index.js';
import { COMPACT_NAME, LOG_NAME } from './recovery.js';
import { memoryLogger, openList } from './test-util.js';

const DIR = '/data/session-mgr/shard-7';
const LOG = join(DIR, LOG_NAME);

/** A disk holding a log made of `good` records followed by `tail` bytes. */
function diskWith(good: object[], tail: Uint8Array): SimulatedFs {
  const fs = new SimulatedFs({ dirs: [DIR] });
  fs.setFile(LOG, Buffer.concat([HEADER, ...good.map((r) => encodeFrame(r)), tail]));
  return fs;
}

const good = [{ producer: 'p1', epoch: 1n }, { producer: 'p2', epoch: 4n }];

async function expectCutAt(fs: SimulatedFs, tailBytes: number, reason: string): Promise<void> {
  const logger = memoryLogger();
  const { journal, records } = await openList<object>(DIR, fs, { logger });
  expect(records).toEqual(good);
  expect(journal.stats.truncatedBytes).toBe(tailBytes);
  const warn = logger.lines.find((l) => l.level === 'warn');
  expect(warn?.obj).toMatchObject({ truncatedBytes: tailBytes, reason });
  // The cut is durable: a power cut right after open does not bring the tail back.
  fs.powerLoss();
  const again = await openList<object>(DIR, fs);
  expect(again.records).toEqual(good);
  expect(again.journal.stats.truncatedBytes).toBe(0);
  // Appends after the cut are replayed after the good records.
  await again.journal.append({ producer: 'p3', epoch: 1n });
  await again.journal.close();
  const third = await openList<object>(DIR, fs);
  expect(third.records).toEqual([...good, { producer: 'p3', epoch: 1n }]);
  await third.journal.close();
}

describe('recovery', () => {
  it('cuts off a record torn in its payload and logs how many bytes', async () => {
    const torn = encodeFrame({ producer: 'p9', epoch: 9n }).subarray(0, 11);
    await expectCutAt(diskWith(good, torn), 11, 'torn-payload');
  });

  it('cuts off a record torn inside its length prefix', async () => {
    await expectCutAt(diskWith(good, Uint8Array.from([5, 0, 0])), 3, 'torn-length');
  });

  it('cuts off a record whose checksum does not match', async () => {
    const bad = encodeFrame({ producer: 'p9', epoch: 9n });
    bad[bad.length - 1]! ^= 0x40;
    await expectCutAt(diskWith(good, bad), bad.length, 'bad-checksum');
  });

  it('treats a hostile length prefix above maxRecordBytes as a corrupt tail', async () => {
    const hostile = Buffer.alloc(64, 0xab);
    hostile.writeUInt32LE(0xffffffff, 0);
    await expectCutAt(diskWith(good, hostile), 64, 'bad-length');
  });

  it('treats a zero-filled tail (size persisted, data not) as corruption', async () => {
    await expectCutAt(diskWith(good, Buffer.alloc(40)), 40, 'bad-length');
  });

  it('stops at the first bad record even if intact-looking records follow it', async () => {
    const bad = encodeFrame({ producer: 'x', epoch: 1n });
    bad[9]! ^= 1;
    const after = encodeFrame({ producer: 'y', epoch: 2n });
    await expectCutAt(diskWith(good, Buffer.concat([bad, after])), bad.length + after.length, 'bad-checksum');
  });

  it('never replays a half-written record, whatever byte the write stopped at', async () => {
    const next = encodeFrame({ producer: 'p9', epoch: 9n, pad: 'z'.repeat(40) });
    for (let cut = 1; cut < next.length; cut++) {
      const fs = diskWith(good, next.subarray(0, cut));
      const { journal, records } = await openList<object>(DIR, fs);
      expect(records).toEqual(good);
      expect(journal.stats.truncatedBytes).toBe(cut);
      await journal.close();
    }
  });

  it('refuses a log that does not start with the journal header instead of truncating it', async () => {
    const fs = new SimulatedFs({ dirs: [DIR] });
    fs.setFile(LOG, 'not a journal at all, some other file');
    await expect(openList<object>(DIR, fs)).rejects.toMatchObject({ code: JournalErrorCode.BAD_FORMAT });
    expect(fs.contents(LOG)!.toString()).toBe('not a journal at all, some other file');
  });

  it('recreates a log shorter than its header, which cannot hold an acknowledged record', async () => {
    const fs = new SimulatedFs({ dirs: [DIR] });
    fs.setFile(LOG, HEADER.subarray(0, 3));
    const { journal, records } = await openList<object>(DIR, fs);
    expect(records).toEqual([]);
    expect(journal.sizeBytes).toBe(HEADER_BYTES);
    await journal.append({ a: 1 });
    await journal.close();
    expect((await openList<object>(DIR, fs)).records).toEqual([{ a: 1 }]);
  });

  it('discards a compaction file left by a crash before its rename and replays the old log', async () => {
    const fs = diskWith(good, new Uint8Array());
    fs.setFile(join(DIR, COMPACT_NAME), Buffer.concat([HEADER, encodeFrame({ producer: 'half' })]));
    const { journal, records } = await openList<object>(DIR, fs);
    expect(records).toEqual(good);
    expect(fs.list(DIR)).not.toContain(COMPACT_NAME);
    // ...durably: open fsynced the directory.
    fs.powerLoss();
    expect(fs.list(DIR)).not.toContain(COMPACT_NAME);
    await journal.close();
  });

  it('creates the directory and the log durably on first open: they survive a power cut before any append', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/data'] });
      const { journal } = await openList<object>(DIR, fs);
      fs.powerLoss();
      expect(fs.list(DIR), `seed ${seed}`).toContain(LOG_NAME);
      expect(fs.contents(LOG)!.subarray(0, HEADER_BYTES)).toEqual(Buffer.from(HEADER));
      await journal.close().catch(() => undefined);
    }
  });
});
