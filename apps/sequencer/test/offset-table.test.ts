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

describe('OffsetTable: idempotent retries (producerId + seq)', () => {
  const A = { producerId: 7, seq: 1 };

  it('answers a retry with the same token with the same range, writing nothing to the journal', async () => {
    const { open, disk } = world();
    const t = await open();
    expect(await t.assign(P1, 5, A)).toEqual({ first: 0, count: 5 });
    const appends = disk.current.stats.appends;
    const syncs = disk.fs.stats.ops.datasync;
    expect(await t.assign(P1, 5, A)).toEqual({ first: 0, count: 5 });
    expect(await t.assign(P1, 5, A)).toEqual({ first: 0, count: 5 });
    expect(disk.current.stats.appends).toBe(appends);
    expect(disk.fs.stats.ops.datasync).toBe(syncs);
    // The next seq takes the next range; a partition's other producers and calls without a token are unaffected.
    expect(await t.assign(P1, 2, { producerId: 7, seq: 2 })).toEqual({ first: 5, count: 2 });
    expect(await t.assign(P1, 1, { producerId: 8, seq: 1 })).toEqual({ first: 7, count: 1 });
    expect(await t.assign(P1, 1)).toEqual({ first: 8, count: 1 });
    expect(await t.assign(P1, 2, { producerId: 7, seq: 2 })).toEqual({ first: 5, count: 2 });
    expect(await t.assign(P1, 1, { producerId: 8, seq: 1 })).toEqual({ first: 7, count: 1 });
    // Tokens are per partition: the same token on another partition is another request.
    expect(await t.assign(P2, 3, A)).toEqual({ first: 0, count: 3 });
  });

  it('answers a retry that arrives while the first request is still being journaled with the same range, once durable', async () => {
    const { open } = world();
    const t = await open();
    const [a, b] = await Promise.all([t.assign(P1, 4, A), t.assign(P1, 4, A)]);
    expect(a).toEqual({ first: 0, count: 4 });
    expect(b).toEqual({ first: 0, count: 4 });
    expect(t.peek(P1)).toBe(4);
  });

  it('answers the same range after a restart, a power loss after the sync, and a compaction', async () => {
    const { open, disk } = world();
    let t = await open(4096);
    await t.assign(P1, 10);
    expect(await t.assign(P1, 5, A)).toEqual({ first: 10, count: 5 });
    // The answer is lost; the process dies (page cache kept), then the power goes (synced data kept).
    disk.fs.killProcess();
    t = await open(4096);
    expect(await t.assign(P1, 5, A)).toEqual({ first: 10, count: 5 });
    expect(t.peek(P1)).toBe(15);
    disk.fs.powerLoss();
    t = await open(4096);
    expect(await t.assign(P1, 5, A)).toEqual({ first: 10, count: 5 });
    // Compactions (one record per partition plus one per remembered producer) keep the token.
    for (let i = 0; i < 300; i++) await t.assign(P2, 1, { producerId: 9, seq: i });
    expect(disk.current.stats.compactions).toBeGreaterThan(0);
    await t.close();
    t = await open(4096);
    expect(await t.assign(P1, 5, A)).toEqual({ first: 10, count: 5 });
    expect(await t.assign(P2, 1, { producerId: 9, seq: 299 })).toEqual({ first: 299, count: 1 });
    expect(t.lastToken(P1, 7)).toEqual({ seq: 1, first: 10, count: 5 });
  });

  it('gives a retry whose record did not survive the range it would have taken, at the same place', async () => {
    const { open, disk } = world();
    let t = await open();
    await t.assign(P1, 10, { producerId: 7, seq: 0 });
    await disk.killBeforeSync(() => t.assign(P1, 5, A));
    disk.fs.powerLoss();
    t = await open();
    const r = await t.assign(P1, 5, A);
    // Either its record survived (the same range) or it is taken now, at the same place: no hole either way.
    expect(r).toEqual({ first: 10, count: 5 });
    expect(await t.assign(P1, 1)).toEqual({ first: 15, count: 1 });
  });

  it('refuses a seq older than the last one of its producer with OFFSETS_STALE_SEQ, taking nothing', async () => {
    const { open } = world();
    let t = await open();
    await t.assign(P1, 5, { producerId: 7, seq: 3 });
    await t.assign(P1, 5, { producerId: 7, seq: 4 });
    const err = (await t.assign(P1, 5, { producerId: 7, seq: 3 }).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err).toMatchObject({ code: 'OFFSETS_STALE_SEQ' });
    expect(err.message).toMatch(/seq 3 of producerId 7 is older than seq 4/);
    expect(t.peek(P1)).toBe(10);
    // After a restart too (the token is replayed from the journal).
    await t.close();
    t = await open();
    expect(await codeOf(t.assign(P1, 5, { producerId: 7, seq: 3 }))).toBe('OFFSETS_STALE_SEQ');
    expect(await t.assign(P1, 5, { producerId: 7, seq: 4 })).toEqual({ first: 5, count: 5 });
  });

  it('refuses a retry of the same token asking another count (BAD_REQUEST naming count)', async () => {
    const t = await world().open();
    await t.assign(P1, 5, A);
    const err = await t.assign(P1, 6, A).catch((e: unknown) => e as { code: string; details: { field?: string } });
    expect(err).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'count' } });
    expect(t.peek(P1)).toBe(5);
  });

  it('without a token works as before: every call takes a new range', async () => {
    const { open, disk } = world();
    const t = await open();
    expect(await t.assign(P1, 5)).toEqual({ first: 0, count: 5 });
    const appends = disk.current.stats.appends;
    expect(await t.assign(P1, 5)).toEqual({ first: 5, count: 5 });
    expect(disk.current.stats.appends).toBeGreaterThan(appends);
  });

  it('remembers at most maxProducersPerPartition producers per partition, forgetting the least recently used', async () => {
    const { clock, disk } = world();
    const open = () =>
      OffsetTable.open(
        { shard: SHARD, clock, epochMs: EPOCH, openJournal: (hooks) => disk.open<SequencerRecord>(hooks, 4096) },
        { maxPartitions: 100, maxProducersPerPartition: 2 },
      );
    let t = await open();
    await t.assign(P1, 1, { producerId: 1, seq: 1 });
    await t.assign(P1, 1, { producerId: 2, seq: 1 });
    await t.assign(P1, 1, { producerId: 1, seq: 2 });
    await t.assign(P1, 1, { producerId: 3, seq: 1 });
    expect(t.lastToken(P1, 2)).toBeUndefined();
    expect(t.lastToken(P1, 1)).toEqual({ seq: 2, first: 2, count: 1 });
    for (let i = 0; i < 200; i++) await t.assign(P2, 1);
    await t.close();
    t = await open();
    expect(t.lastToken(P1, 2)).toBeUndefined();
    expect(t.lastToken(P1, 1)).toEqual({ seq: 2, first: 2, count: 1 });
    expect(t.lastToken(P1, 3)).toEqual({ seq: 1, first: 3, count: 1 });
  });

  it('keeps remembered tokens across a restore: a retry of a token in the backup gets its range, a later one a range at the floor', async () => {
    const disk = new SimDisk();
    const clock = new FakeClock(T0);
    let t = await world(100, undefined, disk, clock).open();
    expect(await t.assign(P1, 100, { producerId: 7, seq: 1 })).toEqual({ first: 0, count: 100 });
    const backup = backupOf(disk);
    await t.assign(P1, 100, { producerId: 7, seq: 2 });
    await t.close();
    clock.advance(60_000);
    const restored = { issuedBeforeMs: clock.now() };
    t = await world(100, restored, diskFrom(backup), clock).open();
    clock.advance(1);
    expect(await t.assign(P1, 100, { producerId: 7, seq: 1 })).toEqual({ first: 0, count: 100 });
    // seq 2 was lost with the process: the restored shard does not know it, and hands out a range at the floor.
    expect(await t.assign(P1, 100, { producerId: 7, seq: 2 })).toEqual({ first: restoreFloor(EPOCH, restored), count: 100 });
  });

  it('refuses a journal record with half a token (BAD_RECORD) and reads a whole one', () => {
    expect(() => parseSequencerRecord({ t: 'a', p: 'x', e: 3, q: 1 })).toThrow(/not a sequencer journal record/);
    expect(() => parseSequencerRecord({ t: 'a', p: 'x', e: 3, q: 1, s: 1, n: 4 })).toThrow(/not a sequencer journal record/);
    expect(parseSequencerRecord({ t: 'a', p: 'x', e: 3, q: 1, s: 2, n: 3 })).toEqual({ t: 'a', p: 'x', e: 3, q: 1, s: 2, n: 3 });
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
