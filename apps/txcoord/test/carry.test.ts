/**
 * A graceful shard move carries the shard's open transactions (a carry
 * journaled by TxTable.closeForMove): they are ACTIVE at the target with the
 * time they had left at the release, and a commit or abort sent there
 * decides them. A carry counts only while it ends the journal. What a crash
 * or a plain restart does to open transactions is unchanged: presumed abort.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@pharaoh/protocol';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { openTestProcess, type TestProcess } from '@pharaoh/server/testing';
import { txcoordService, type TxcoordShard } from '../src/service.js';
import { TxTable, type TxJournalHooks } from '../src/tx-table.js';
import { CARRY_CHUNK, parseTxRecord, type TxRecord } from '../src/records.js';
import { DEFAULT_MAX_OPEN_TX } from '../src/options.js';

const DATA = '/data';
const SHARD = 5;
const T0 = Date.UTC(2026, 11, 3);

type Proc = TestProcess<TxcoordShard>;

function clock(at: number): { now(): number; t: number } {
  const c = { t: at, now: () => c.t };
  return c;
}

async function pair(fs: SimulatedFs, srcClock: { now(): number }, dstClock: { now(): number }): Promise<{ src: Proc; dst: Proc }> {
  const dst = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [2], clock: dstClock })) as Proc;
  const src = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [0, SHARD], clock: srcClock })) as Proc;
  return { src, dst };
}

async function move(src: Proc, dst: Proc): Promise<void> {
  await src.move('admin.shards.release', { shards: String(SHARD) });
  await dst.move('admin.shards.claim', { shards: String(SHARD) });
  await src.move('admin.shards.forward', { shards: String(SHARD), to: 'ws://127.0.0.1:7200' });
}

const table = (p: Proc) => p.handle(SHARD)!.state.table;

describe('a graceful shard move carries the open transactions', () => {
  it('keeps them open at the target, where commit, abort and heartbeat decide them; decided ones stay decided', async () => {
    const fs = new SimulatedFs({ seed: 1, dirs: [DATA] });
    // The target's clock an hour ahead: absolute deadlines would abort every carried transaction at once.
    const sc = clock(T0);
    const dc = clock(T0 + 3_600_000);
    const { src, dst } = await pair(fs, sc, dc);
    const t = table(src);
    const toCommit = await t.begin(30_000);
    const toAbort = await t.begin(30_000);
    const toBeat = await t.begin(20_000);
    const committed = await t.begin();
    const { commitTs } = await t.commit(committed.txId);
    const aborted = await t.begin();
    await t.abort(aborted.txId);
    expect(t.stats.active).toBe(3);

    await move(src, dst);
    const u = table(dst);
    expect(u.stats.active).toBe(3);
    expect(await u.status(toCommit.txId)).toBe('ACTIVE');
    expect(await u.status(committed.txId)).toBe('COMMITTED');
    expect(await u.status(aborted.txId)).toBe('ABORTED');
    expect(await u.commit(committed.txId)).toEqual({ commitTs });

    const c = await u.commit(toCommit.txId);
    // The commitTs is the target's: above the txId and everything the source issued.
    expect(c.commitTs > committed.txId && c.commitTs > commitTs).toBe(true);
    expect(await u.status(toCommit.txId)).toBe('COMMITTED');
    await u.abort(toAbort.txId);
    await expect(u.commit(toAbort.txId)).rejects.toMatchObject({ code: ERROR_CODES.TX_ABORTED });
    expect(await u.heartbeat(toBeat.txId)).toEqual({ timeoutMs: 20_000 });

    // New transactions at the target lie above the carried ones.
    const fresh = await u.begin();
    expect(fresh.txId > toBeat.txId).toBe(true);
    await src.close();
    await dst.close();
  });

  it('restarts the time each had left at the release on the target\'s clock; one already past its deadline is not carried', async () => {
    const fs = new SimulatedFs({ seed: 2, dirs: [DATA] });
    const sc = clock(T0);
    // The target's clock 10 s behind: absolute deadlines would give every carried transaction 10 s more.
    const dc = clock(T0 - 10_000);
    const { src, dst } = await pair(fs, sc, dc);
    const t = table(src);
    const long = await t.begin(20_000);
    const expired = await t.begin(1_000);
    sc.t += 15_000; // `long` has 5 s left, `expired` is past its deadline (the sweep did not run yet)
    await move(src, dst);
    const u = table(dst);
    expect(u.stats.active).toBe(1);
    await expect(u.commit(expired.txId)).rejects.toMatchObject({ code: ERROR_CODES.TX_ABORTED });
    dc.t += 4_900;
    expect(await u.status(long.txId)).toBe('ACTIVE');
    dc.t += 100;
    expect(await u.status(long.txId)).toBe('ABORTED');
    await expect(u.commit(long.txId)).rejects.toMatchObject({ code: ERROR_CODES.TX_ABORTED });
    await src.close();
    await dst.close();
  });

  it('a claim back on the source (an undone move) keeps them open too', async () => {
    const fs = new SimulatedFs({ seed: 3, dirs: [DATA] });
    const sc = clock(T0);
    const { src, dst } = await pair(fs, sc, clock(T0));
    const open = await table(src).begin(30_000);
    await src.move('admin.shards.release', { shards: String(SHARD) });
    await src.move('admin.shards.claim', { shards: String(SHARD) });
    expect(await table(src).status(open.txId)).toBe('ACTIVE');
    expect(await table(src).commit(open.txId)).toHaveProperty('commitTs');
    await src.close();
    await dst.close();
  });

  it('a carried transaction committed at the target survives its crash; one left undecided is then aborted (a record followed the carry)', async () => {
    const fs = new SimulatedFs({ seed: 4, dirs: [DATA] });
    const { src, dst } = await pair(fs, clock(T0), clock(T0));
    const a = await table(src).begin(30_000);
    const b = await table(src).begin(30_000);
    await move(src, dst);
    await table(dst).commit(a.txId);
    fs.powerLoss();
    src.abandon();
    dst.abandon();
    const next = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0) })) as Proc;
    expect(await table(next).status(a.txId)).toBe('COMMITTED');
    expect(await table(next).status(b.txId)).toBe('ABORTED');
    await next.close();
  });

  it('a plain stop and start still aborts the open transactions (nothing is carried outside a move)', async () => {
    const fs = new SimulatedFs({ seed: 5, dirs: [DATA] });
    const p = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0) })) as Proc;
    const open = await table(p).begin(30_000);
    await p.close();
    const q = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0) })) as Proc;
    expect(await table(q).status(open.txId)).toBe('ABORTED');
    await q.close();
  });

  it('a carry is void once any record follows it: a later crash aborts what it carried', async () => {
    const fs = new SimulatedFs({ seed: 6, dirs: [DATA] });
    const { src, dst } = await pair(fs, clock(T0), clock(T0));
    const a = await table(src).begin(30_000);
    const b = await table(src).begin(30_000);
    await move(src, dst);
    expect(await table(dst).status(b.txId)).toBe('ACTIVE');
    // The target journals a decision about another tx, then dies: b, carried and undecided, is aborted.
    const other = await table(dst).begin();
    await table(dst).abort(other.txId);
    fs.killProcess();
    src.abandon();
    dst.abandon();
    const next = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0) })) as Proc;
    expect(await table(next).status(a.txId)).toBe('ABORTED');
    expect(await table(next).status(b.txId)).toBe('ABORTED');
    await next.close();
  });

  it('a carry still ending the journal is reopened by any open (the target died before deciding anything; the source restarted)', async () => {
    const fs = new SimulatedFs({ seed: 7, dirs: [DATA] });
    const { src, dst } = await pair(fs, clock(T0), clock(T0));
    const a = await table(src).begin(30_000);
    await move(src, dst);
    fs.killProcess();
    src.abandon();
    dst.abandon();
    const again = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0) })) as Proc;
    expect(await table(again).status(a.txId)).toBe('ACTIVE');
    expect(await table(again).commit(a.txId)).toHaveProperty('commitTs');
    await again.close();
  });

  it('a release with nothing open voids an older carry still ending the journal', async () => {
    const fs = new SimulatedFs({ seed: 8, dirs: [DATA] });
    const sc = clock(T0);
    const { src, dst } = await pair(fs, sc, clock(T0));
    const a = await table(src).begin(1_000);
    await move(src, dst);
    // At the target `a` times out without being looked at, then the shard is moved back.
    const dc = clock(T0 + 5_000);
    const back = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [3], clock: dc })) as Proc;
    await dst.close();
    await back.move('admin.shards.claim', { shards: String(SHARD) });
    expect(await table(back).status(a.txId)).toBe('ACTIVE'); // the target never opened it: its remaining second restarts here
    dc.t += 2_000;
    await back.move('admin.shards.release', { shards: String(SHARD) });
    const last = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: dc })) as Proc;
    await expect(table(last).commit(a.txId)).rejects.toMatchObject({ code: ERROR_CODES.TX_ABORTED });
    await Promise.all([src.close(), back.close(), last.close()]);
  });
});

describe('a carry and journal compaction', () => {
  it('a compaction the carry itself triggers keeps it (the snapshot ends with it)', async () => {
    const fs = new SimulatedFs({ seed: 9, dirs: [DATA] });
    const app = { compactAtBytes: 4096 };
    const dst = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [2], clock: clock(T0), app })) as Proc;
    const src = (await openTestProcess(txcoordService, { fs: fs.forProcess(), dataDir: DATA, shards: [SHARD], clock: clock(T0), app })) as Proc;
    const state = src.handle(SHARD)!.state;
    const ids: bigint[] = [];
    for (let i = 0; i < 400; i++) ids.push((await state.table.begin(30_000)).txId);
    const before = state.journal.stats.compactions;
    await move(src, dst);
    // ~20 bytes a transaction: the carry alone is past the 4 KiB threshold.
    expect(state.journal.stats.compactions).toBeGreaterThan(before);
    expect(table(dst).stats.active).toBe(400);
    expect(await table(dst).commit(ids[399]!)).toHaveProperty('commitTs');
    await Promise.all([src.close(), dst.close()]);
  });
});

/** IDs of the in-memory tables: one counter, so each table's IDs lie above every earlier one's. */
let next = 1_000_000n;

/** The table alone over an in-memory journal (a list of records). */
async function memTable(log: TxRecord[], now: { now(): number }): Promise<TxTable> {
  const layout = { timeOf: () => T0, shardOf: () => 0, unitAt: (ms: number) => ms };
  return TxTable.open(
    {
      ids: {
        next: async () => next++,
        nextRange: async (n: number) => {
          const first = next;
          next += BigInt(n);
          return { first, count: n };
        },
      },
      layout,
      clock: now,
      openJournal: async (hooks: TxJournalHooks) => {
        for (const r of log) hooks.onRecord(r);
        return {
          append: async (r: TxRecord) => {
            log.push(parseTxRecord(r));
          },
          close: async () => undefined,
        };
      },
    },
    { defaultTimeoutMs: 10_000, retentionMs: 600_000, maxOpen: DEFAULT_MAX_OPEN_TX * 10, maxRemembered: 200_000 },
  );
}

describe('carry records', () => {
  it('chunks a large carry, reopens it only when complete, and keeps it through a compaction snapshot', async () => {
    const c = { now: () => T0 };
    const log: TxRecord[] = [];
    const t = await memTable(log, c);
    const n = CARRY_CHUNK * 2 + 5;
    const ids: bigint[] = [];
    for (let i = 0; i < n; i++) ids.push((await t.begin(20_000)).txId);
    await t.closeForMove();
    const carries = log.filter((r) => r.t === 'o');
    expect(carries.map((r) => (r.t === 'o' ? [r.i, r.n, r.x.length] : []))).toEqual([
      [0, 3, CARRY_CHUNK],
      [1, 3, CARRY_CHUNK],
      [2, 3, 5],
    ]);
    const u = await memTable([...log], c);
    expect(u.stats.active).toBe(n);
    // The snapshot ends with the same carry: a compaction keeps it.
    expect(u.snapshot().filter((r) => r.t === 'o')).toEqual(carries);
    // A torn carry (its last chunk lost) reopens nothing.
    const torn = await memTable(log.slice(0, -1), c);
    expect(torn.stats.active).toBe(0);
    expect(await torn.status(ids[0]!)).toBe('ABORTED');
  });
});
