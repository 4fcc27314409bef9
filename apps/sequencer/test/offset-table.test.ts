import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, SimDisk, codeOf } from '@pharaoh/testkit';
import { OFFSET_LEAD_MS, OFFSET_RATE_PER_MS, ceilingAt, restoreFloor, type OffsetRestore } from '../src/offset-ceiling.js';
import { OffsetTable } from '../src/offset-table.js';
import { parseSequencerRecord, type SequencerRecord } from '../src/records.js';
import { keysFor } from './helpers.js';

const T0 = Date.UTC(2026, 11, 3);
const SHARD = shardForKey('orders-0');
const [P1, P2, P3] = keysFor(SHARD, 3) as [string, string, string];
const EPOCH = CDC_LAYOUT.epochMs;

const JOURNAL_DIR = '/data/shard/journal';

/** The journal's files as a backup copies them (its bytes now, page cache included). */
function backupOf(disk: SimDisk): Map<string, Buffer> {
  return new Map(disk.fs.list(JOURNAL_DIR).map((name) => [`${JOURNAL_DIR}/${name}`, disk.fs.contents(`${JOURNAL_DIR}/${name}`)!]));
}

/** A fresh disk holding `files` durably: the restore. */
function diskFrom(files: Map<string, Buffer>): SimDisk {
  const disk = new SimDisk(2);
  disk.fs.mkdirp(JOURNAL_DIR);
  for (const [path, bytes] of files) disk.fs.setFile(path, bytes);
  return disk;
}

function world(maxPartitions = 100, restored?: OffsetRestore, disk = new SimDisk(), clock = new FakeClock(T0)) {
  const open = (compactAtBytes?: number) =>
    OffsetTable.open(
      { shard: SHARD, clock, epochMs: EPOCH, restored, openJournal: (hooks) => disk.open<SequencerRecord>(hooks, compactAtBytes) },
      { maxPartitions },
    );
  return { clock, disk, open };
}

describe('OffsetTable', () => {
  it('hands out dense ranges per partition, starting at 0, each partition on its own', async () => {
    const t = await world().open();
    expect(await t.assign(P1, 5)).toEqual({ first: 0, count: 5 });
    expect(await t.assign(P1, 1)).toEqual({ first: 5, count: 1 });
    expect(await t.assign(P2, 3)).toEqual({ first: 0, count: 3 });
    expect(await t.assign(P1, 10)).toEqual({ first: 6, count: 10 });
    expect(t.partitions).toBe(2);
  });

  it('gives concurrent calls consecutive ranges in call order, answered only once journaled', async () => {
    const { open, disk } = world();
    const t = await open();
    const syncsBefore = disk.fs.stats.ops.datasync;
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => t.assign(P1, i + 1)));
    let next = 0;
    for (const [i, r] of got.entries()) {
      expect(r).toEqual({ first: next, count: i + 1 });
      next += i + 1;
    }
    // Group commit: 50 appends made in one turn share far fewer syncs than 50.
    expect(disk.fs.stats.ops.datasync - syncsBefore).toBeLessThan(10);
  });

  it('resumes every partition after its last acknowledged range on reopen, also after a compaction', async () => {
    const { open, disk } = world();
    let t = await open(4096);
    for (let i = 0; i < 300; i++) await t.assign(i % 2 === 0 ? P1 : P2, 7);
    expect(disk.current.stats.compactions).toBeGreaterThan(0);
    await t.close();
    t = await open(4096);
    expect(await t.assign(P1, 1)).toEqual({ first: 150 * 7, count: 1 });
    expect(await t.assign(P2, 1)).toEqual({ first: 150 * 7, count: 1 });
    expect(await t.assign(P3, 1)).toEqual({ first: 0, count: 1 });
  });

  it('never hands out an acknowledged offset again after a power loss, and skips only what was taken unacknowledged', async () => {
    const { open, disk } = world();
    let t = await open();
    await t.assign(P1, 10);
    await disk.killBeforeSync(() => t.assign(P1, 5));
    disk.fs.powerLoss();
    t = await open();
    // The range [10, 15) was never acknowledged: it may come back (the record did not survive) or be skipped, never below 10.
    const r = await t.assign(P1, 1);
    expect(r.first === 10 || r.first === 15).toBe(true);
  });

  it('refuses a partition of another shard with NOT_OWNER naming its shard, and takes nothing', async () => {
    const t = await world().open();
    const other = keysFor((SHARD + 1) % 1024, 1)[0]!;
    const err = await t.assign(other, 1).catch((e: unknown) => e as { code: string; details?: { shard?: number } });
    expect(err).toMatchObject({ code: 'NOT_OWNER' });
    expect(t.partitions).toBe(0);
  });

  it('refuses a new partition beyond maxPartitions (OVERLOADED) but keeps serving the known ones', async () => {
    const t = await world(2).open();
    await t.assign(P1, 1);
    await t.assign(P2, 1);
    expect(await codeOf(t.assign(P3, 1))).toBe('OVERLOADED');
    expect(await t.assign(P1, 1)).toEqual({ first: 1, count: 1 });
  });

  it('refuses after close with SHARD_UNAVAILABLE', async () => {
    const t = await world().open();
    await t.close();
    expect(await codeOf(t.assign(P1, 1))).toBe('SHARD_UNAVAILABLE');
  });

  it('refuses a journal record that is not its own (BAD_RECORD)', () => {
    expect(() => parseSequencerRecord({ t: 'o', id: 1 })).toThrow(/not a sequencer journal record/);
    expect(() => parseSequencerRecord({ t: 'a', p: '', e: 1 })).toThrow(/not a sequencer journal record/);
    expect(() => parseSequencerRecord({ t: 'a', p: 'x', e: -1 })).toThrow(/not a sequencer journal record/);
    expect(parseSequencerRecord({ t: 'a', p: 'x', e: 3 })).toEqual({ t: 'a', p: 'x', e: 3 });
  });
});

describe('offsets after a restore from an older backup', () => {
  it('the ceiling grows OFFSET_RATE_PER_MS per ms and runs OFFSET_LEAD_MS ahead of the clock', () => {
    expect(ceilingAt(EPOCH, EPOCH)).toBe(OFFSET_LEAD_MS * OFFSET_RATE_PER_MS);
    expect(ceilingAt(EPOCH, T0 + 1) - ceilingAt(EPOCH, T0)).toBe(OFFSET_RATE_PER_MS);
    expect(restoreFloor(EPOCH, undefined)).toBe(0);
  });

  it('a restored shard never hands out an offset the lost process handed out after the backup', async () => {
    const disk = new SimDisk();
    const clock = new FakeClock(T0);
    const before = world(100, undefined, disk, clock);
    let t = await before.open();
    await t.assign(P1, 100);
    // The backup: what the disk holds now. Then the lost process goes on for an hour.
    const backup = backupOf(disk);
    const given: Array<{ p: string; first: number; count: number }> = [];
    for (let i = 0; i < 60; i++) {
      clock.advance(60_000);
      given.push({ p: P1, ...(await t.assign(P1, 1_000_000)) }, { p: P2, ...(await t.assign(P2, 7)) });
    }
    await t.close();
    // Restored a minute after the loss, from the backup; issuedBeforeMs as `pharaoh restore` computes it (restore + window + lead + skew + margin).
    clock.advance(60_000);
    const restored = { issuedBeforeMs: clock.now() + 10_000 };
    const after = world(100, restored, diskFrom(backup), clock);
    t = await after.open();
    // Until the clock passes issuedBeforeMs the partition sits at its ceiling: OVERLOADED, retry later.
    expect(await codeOf(t.assign(P1, 1))).toBe('OVERLOADED');
    clock.advance(10_001);
    for (const p of [P1, P2, P3]) {
      const r = await t.assign(p, 1);
      for (const g of given.filter((x) => x.p === p)) expect(r.first).toBeGreaterThanOrEqual(g.first + g.count);
      expect(r.first).toBe(restoreFloor(EPOCH, restored));
    }
    // Dense again from there on.
    expect((await t.assign(P1, 5)).first).toBe(restoreFloor(EPOCH, restored) + 1);
  });
});
