/**
 * A graceful shard move carries the shard's open transactions (carry.ts):
 * they are ACTIVE at the target with the time they had left at the release,
 * and a commit or abort sent there decides them. What a crash or a plain
 * restart does to them is unchanged: presumed abort.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@pharaoh/protocol';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { openTestProcess, type TestProcess } from '@pharaoh/server/testing';
import { TXCOORD } from '@pharaoh/registry';
import { txcoordService, type TxcoordShard } from '../src/service.js';
import { decodeCarried, encodeCarried } from '../src/carry.js';

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

  it('a carried transaction left undecided at the target is aborted by the target\'s crash (presumed abort); a decided one survives it', async () => {
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

  it('an unreadable carry opens the shard with them aborted (presumed abort), never refuses it', async () => {
    const fs = new SimulatedFs({ seed: 6, dirs: [DATA] });
    const { src, dst } = await pair(fs, clock(T0), clock(T0));
    const open = await table(src).begin(30_000);
    await src.move('admin.shards.release', { shards: String(SHARD) });
    const view = fs.forProcess();
    const h = await view.open(`${DATA}/txcoord/shard-${SHARD}/released`, { truncate: true });
    await h.write(Buffer.from('{"format":1,"txs":[["x"'), 0);
    await h.datasync();
    await h.close();
    await dst.move('admin.shards.claim', { shards: String(SHARD) });
    expect(await table(dst).status(open.txId)).toBe('ABORTED');
    await src.close();
    await dst.close();
  });
});

describe('carry format', () => {
  const shardOf = (id: bigint) => TXCOORD.layout.shardOf(id);
  it('round-trips, carries nothing for no open transaction, and refuses another shard\'s txIds and bad fields', () => {
    expect(encodeCarried([])).toBeUndefined();
    const id = (1n << 40n) | (7n << 12n); // any ID; its shard is whatever the layout says
    const shard = shardOf(id);
    const bytes = encodeCarried([{ txId: id, timeoutMs: 10_000, remainingMs: 2_500.2 }])!;
    expect(decodeCarried(bytes, shard, shardOf)).toEqual([{ txId: id, timeoutMs: 10_000, remainingMs: 2_501 }]);
    expect(() => decodeCarried(bytes, (shard + 1) % 1024, shardOf)).toThrow(/not of shard/);
    const raw = (body: unknown) => Buffer.from(JSON.stringify(body));
    expect(() => decodeCarried(raw({ format: 2, txs: [] }), shard, shardOf)).toThrow(/format/);
    expect(() => decodeCarried(raw({ format: 1, txs: [[id.toString(), 0, 5]] }), shard, shardOf)).toThrow(/timeoutMs/);
    expect(() => decodeCarried(raw({ format: 1, txs: [[id.toString(), 10_000, 0]] }), shard, shardOf)).toThrow(/remainingMs/);
    // More left than the timeout (a clock step back at the source): capped at the timeout.
    expect(decodeCarried(raw({ format: 1, txs: [[id.toString(), 10_000, 50_000]] }), shard, shardOf)[0]!.remainingMs).toBe(10_000);
  });
});
