import { describe, expect, it } from 'vitest';
import { TX_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, SimDisk, codeOf } from '@pharaoh/testkit';
import { TxTable } from '../src/tx-table.js';
import type { TxTableOptions } from '../src/options.js';
import type { TxRecord } from '../src/records.js';

const T0 = Date.UTC(2026, 0, 1);
const OPTS: TxTableOptions = { defaultTimeoutMs: 1_000, retentionMs: 60_000, maxOpen: 100, maxRemembered: 1_000 };

function world(opts: Partial<TxTableOptions> = {}) {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(TX_LAYOUT, 7, clock);
  const disk = new SimDisk();
  const open = (compactAtBytes?: number) =>
    TxTable.open(
      { ids, layout: TX_LAYOUT, clock, openJournal: (hooks) => disk.open<TxRecord>(hooks, compactAtBytes) },
      { ...OPTS, ...opts },
    );
  return { clock, ids, disk, open };
}

describe('TxTable', () => {
  it('begins transactions with distinct, increasing txId and startTs from the shard generator', async () => {
    const { open } = world();
    const t = await open();
    const a = await t.begin();
    const b = await t.begin(5_000);
    expect(a.startTs).not.toBe(a.txId);
    expect(b.txId).toBeGreaterThan(a.startTs);
    expect(b.startTs).toBeGreaterThan(b.txId);
    expect(a.timeoutMs).toBe(OPTS.defaultTimeoutMs);
    expect(b.timeoutMs).toBe(5_000);
    expect(TX_LAYOUT.shardOf(a.txId)).toBe(7);
    expect(await t.status(a.txId)).toBe('ACTIVE');
  });

  it('issues a txId above `after`', async () => {
    const { open } = world();
    const t = await open();
    const after = TX_LAYOUT.encode({ time: TX_LAYOUT.unitAt(T0) + 50_000, shard: 7, seq: 3 });
    const r = await t.begin(undefined, after);
    expect(r.txId).toBeGreaterThan(after);
  });

  it('commits idempotently with the same commitTs, and refuses to abort or heartbeat a committed tx', async () => {
    const { open } = world();
    const t = await open();
    const { txId, startTs } = await t.begin();
    const { commitTs } = await t.commit(txId);
    expect(commitTs).toBeGreaterThan(startTs);
    expect((await t.commit(txId)).commitTs).toBe(commitTs);
    expect(await t.status(txId)).toBe('COMMITTED');
    expect(await codeOf(t.abort(txId))).toBe('TX_COMMITTED');
    expect(await codeOf(t.heartbeat(txId))).toBe('TX_COMMITTED');
  });

  it('aborts idempotently and refuses to commit or heartbeat an aborted tx', async () => {
    const { open } = world();
    const t = await open();
    const { txId } = await t.begin();
    expect(await t.abort(txId)).toEqual({});
    expect(await t.abort(txId)).toEqual({});
    expect(await t.status(txId)).toBe('ABORTED');
    expect(await codeOf(t.commit(txId))).toBe('TX_ABORTED');
    expect(await codeOf(t.heartbeat(txId))).toBe('TX_ABORTED');
  });

  it('aborts a transaction that was neither committed nor heartbeated within its timeout', async () => {
    const { open, clock } = world();
    const t = await open();
    const { txId } = await t.begin();
    clock.advance(OPTS.defaultTimeoutMs);
    expect(await codeOf(t.commit(txId))).toBe('TX_ABORTED');
    expect(await t.status(txId)).toBe('ABORTED');
  });

  it('keeps a heartbeated transaction alive past its first deadline', async () => {
    const { open, clock } = world();
    const t = await open();
    const { txId } = await t.begin();
    for (let i = 0; i < 5; i++) {
      clock.advance(OPTS.defaultTimeoutMs - 1);
      expect(await t.heartbeat(txId)).toEqual({ timeoutMs: OPTS.defaultTimeoutMs });
    }
    expect(await t.status(txId)).toBe('ACTIVE');
    expect(await t.commit(txId)).toHaveProperty('commitTs');
  });

  it('sweep aborts expired transactions durably and leaves live ones alone', async () => {
    const { open, clock } = world();
    const t = await open();
    const old = await t.begin(1_000);
    const young = await t.begin(10_000);
    clock.advance(2_000);
    expect(await t.sweep()).toBe(1);
    expect(t.stats).toMatchObject({ active: 1, remembered: 1 });
    expect(await t.status(young.txId)).toBe('ACTIVE');
    expect(await t.status(old.txId)).toBe('ABORTED');
  });

  it('decides a transaction exactly once when commit and abort race', async () => {
    const { open } = world();
    const t = await open();
    for (let i = 0; i < 20; i++) {
      const { txId } = await t.begin();
      const results = await Promise.allSettled([t.commit(txId), t.abort(txId), t.commit(txId), t.abort(txId)]);
      const final = await t.status(txId);
      const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
      if (final === 'COMMITTED') {
        expect(codes).toEqual(['ok', 'TX_COMMITTED', 'ok', 'TX_COMMITTED']);
        const ts = results.filter((r) => r.status === 'fulfilled' && 'commitTs' in r.value).map((r) => (r as PromiseFulfilledResult<{ commitTs: bigint }>).value.commitTs);
        expect(new Set(ts).size).toBe(1);
      } else {
        expect(final).toBe('ABORTED');
        expect(codes).toEqual(['TX_ABORTED', 'ok', 'TX_ABORTED', 'ok']);
      }
    }
  });

  it('answers OVERLOADED at maxOpen undecided transactions and accepts again after a decision', async () => {
    const { open } = world({ maxOpen: 3 });
    const t = await open();
    const txs = await Promise.all([t.begin(), t.begin(), t.begin()]);
    expect(await codeOf(t.begin())).toBe('OVERLOADED');
    await t.commit(txs[0]!.txId);
    expect(await t.begin()).toHaveProperty('txId');
  });

  it('answers UNKNOWN / TX_NOT_FOUND for a txId it never issued since start, even before the first begin', async () => {
    const { open, clock } = world();
    const t = await open();
    const future = TX_LAYOUT.encode({ time: TX_LAYOUT.unitAt(clock.now()) + 10_000, shard: 7, seq: 0 });
    expect(await t.status(future)).toBe('UNKNOWN');
    expect(await codeOf(t.commit(future))).toBe('TX_NOT_FOUND');
    expect(await codeOf(t.abort(future))).toBe('TX_NOT_FOUND');
    expect(await codeOf(t.heartbeat(future))).toBe('TX_NOT_FOUND');
    // Nothing was decided about it: once the generator gets there, it is an ordinary transaction.
    const later = await t.begin(undefined, future - 1n);
    expect(later.txId).toBe(future);
    expect(await t.commit(future)).toHaveProperty('commitTs');
  });

  it('after a crash keeps every decision and presumes undecided transactions aborted', async () => {
    const { open, disk, clock, ids } = world();
    const t1 = await open();
    const committed = await t1.begin();
    const { commitTs } = await t1.commit(committed.txId);
    const aborted = await t1.begin();
    await t1.abort(aborted.txId);
    const undecided = await t1.begin();
    const issuedBefore = ids.last;
    disk.fs.powerLoss();

    clock.advance(5);
    const t2 = await open();
    expect(await t2.status(committed.txId)).toBe('COMMITTED');
    expect((await t2.commit(committed.txId)).commitTs).toBe(commitTs);
    expect(await t2.status(aborted.txId)).toBe('ABORTED');
    expect(await t2.status(undecided.txId)).toBe('ABORTED');
    expect(await codeOf(t2.commit(undecided.txId))).toBe('TX_ABORTED');
    expect(await codeOf(t2.heartbeat(undecided.txId))).toBe('TX_ABORTED');
    expect(await t2.abort(undecided.txId)).toEqual({});
    const fresh = await t2.begin();
    expect(fresh.txId).toBeGreaterThan(issuedBefore);
    expect(await t2.status(fresh.txId)).toBe('ACTIVE');
  });

  it('after a restore from a backup answers IN_DOUBT (never presumed aborted) for every undecided txId of the lost process, until retention forgets it', async () => {
    const clock = new FakeClock(T0);
    const ids = new FakeIds(TX_LAYOUT, 7, clock);
    const backup = new SimDisk(); // what the backup holds
    const lost = new SimDisk(); // the journal written after the backup, then lost
    const open = (disk: SimDisk, inDoubtBeforeMs?: number) =>
      TxTable.open({ ids, layout: TX_LAYOUT, clock, openJournal: (hooks) => disk.open<TxRecord>(hooks), ...(inDoubtBeforeMs === undefined ? {} : { inDoubtBeforeMs }) }, OPTS);
    const t1 = await open(backup);
    const a = await t1.begin();
    const { commitTs } = await t1.commit(a.txId);
    const b = await t1.begin();
    await t1.abort(b.txId);
    await t1.close();
    // Service went on after the backup: a commit and an undecided begin, in a journal that is then lost.
    clock.advance(10);
    const t2 = await open(lost);
    const c = await t2.begin();
    await t2.commit(c.txId);
    const d = await t2.begin();
    await t2.close();

    clock.advance(10);
    // Without the restore mark these txIds would be presumed aborted (so the checks below can fail).
    const unmarked = await open(backup);
    expect(await unmarked.status(d.txId)).toBe('ABORTED');
    expect(await unmarked.status(c.txId)).toBe('ABORTED'); // committed before the loss: the danger
    await unmarked.close();
    const restored = await open(backup, clock.now()); // every txId of the lost process lies below now
    expect(await restored.status(a.txId)).toBe('COMMITTED');
    expect((await restored.commit(a.txId)).commitTs).toBe(commitTs);
    expect(await restored.status(b.txId)).toBe('ABORTED');
    for (const tx of [c, d]) {
      expect(await restored.status(tx.txId)).toBe('IN_DOUBT');
      expect(await codeOf(restored.commit(tx.txId))).toBe('TX_IN_DOUBT');
      expect(await codeOf(restored.abort(tx.txId))).toBe('TX_IN_DOUBT');
      expect(await codeOf(restored.heartbeat(tx.txId))).toBe('TX_IN_DOUBT');
    }
    clock.advance(5);
    const e = await restored.begin(); // after the restore: decided normally
    expect(await restored.status(e.txId)).toBe('ACTIVE');
    expect((await restored.commit(e.txId)).commitTs).toBeGreaterThan(e.txId);
    clock.advance(OPTS.retentionMs + 1_000);
    await restored.sweep();
    expect(await restored.status(c.txId)).toBe('UNKNOWN');
    expect(await codeOf(restored.commit(c.txId))).toBe('TX_NOT_FOUND');
    await restored.close();
  });

  it('tx.resolve records an operator\'s outcome for an IN_DOUBT txId durably, is idempotent, and refuses everything not in doubt', async () => {
    const clock = new FakeClock(T0);
    const ids = new FakeIds(TX_LAYOUT, 7, clock);
    const backup = new SimDisk();
    const lost = new SimDisk();
    const open = (disk: SimDisk, inDoubtBeforeMs?: number) =>
      TxTable.open({ ids, layout: TX_LAYOUT, clock, openJournal: (hooks) => disk.open<TxRecord>(hooks), ...(inDoubtBeforeMs === undefined ? {} : { inDoubtBeforeMs }) }, OPTS);
    await (await open(backup)).close();
    clock.advance(10);
    const t1 = await open(lost);
    const c = await t1.begin();
    const { commitTs } = await t1.commit(c.txId); // decided after the backup, then lost
    const d = await t1.begin();
    const e = await t1.begin();
    await t1.close();
    clock.advance(10);
    const restored = await open(backup, clock.now());
    // Argument rules: a commit names the commitTs the participants saw, from this shard; an abort names none.
    expect(await codeOf(restored.resolve(c.txId, true, undefined))).toBe('BAD_REQUEST');
    expect(await codeOf(restored.resolve(c.txId, false, commitTs))).toBe('BAD_REQUEST');
    expect(await codeOf(restored.resolve(c.txId, true, TX_LAYOUT.encode({ time: 5, shard: 8, seq: 0 })))).toBe('BAD_REQUEST');
    expect(await restored.resolve(c.txId, true, commitTs)).toBe('COMMITTED');
    expect(await restored.resolve(d.txId, false, undefined)).toBe('ABORTED');
    // Now decided like any other transaction, with the participants' commitTs.
    expect(await restored.status(c.txId)).toBe('COMMITTED');
    expect((await restored.commit(c.txId)).commitTs).toBe(commitTs);
    expect(await codeOf(restored.commit(d.txId))).toBe('TX_ABORTED');
    // Idempotent the same way; the other way is refused with the decision's code.
    expect(await restored.resolve(c.txId, true, commitTs)).toBe('COMMITTED');
    expect(await codeOf(restored.resolve(c.txId, true, commitTs + 1n))).toBe('TX_COMMITTED');
    expect(await codeOf(restored.resolve(c.txId, false, undefined))).toBe('TX_COMMITTED');
    expect(await restored.resolve(d.txId, false, undefined)).toBe('ABORTED');
    expect(await codeOf(restored.resolve(d.txId, true, commitTs))).toBe('TX_ABORTED');
    // Not in doubt: a live transaction, and an ID never issued (above every issued one).
    clock.advance(5);
    const live = await restored.begin();
    expect(await codeOf(restored.resolve(live.txId, false, undefined))).toBe('TX_NOT_IN_DOUBT');
    expect(await codeOf(restored.resolve(TX_LAYOUT.encode({ time: TX_LAYOUT.unitAt(clock.now()) + 1_000, shard: 7, seq: 0 }), false, undefined))).toBe('TX_NOT_IN_DOUBT');
    expect(await restored.status(e.txId)).toBe('IN_DOUBT'); // the unresolved one stays in doubt
    await restored.close();
    // Durable: a restart (still marked restored) keeps both resolutions.
    const again = await open(backup, clock.now() - 5);
    expect(await again.status(c.txId)).toBe('COMMITTED');
    expect((await again.commit(c.txId)).commitTs).toBe(commitTs);
    expect(await again.status(d.txId)).toBe('ABORTED');
    expect(await again.status(e.txId)).toBe('IN_DOUBT');
    await again.close();
  });

  it('forgets decisions after retention: status UNKNOWN, commit TX_NOT_FOUND, never committable', async () => {
    const { open, clock } = world();
    const t = await open();
    const c = await t.begin();
    await t.commit(c.txId);
    const a = await t.begin();
    await t.abort(a.txId);
    clock.advance(OPTS.retentionMs + 1_000);
    await t.sweep();
    expect(t.stats.remembered).toBe(0);
    expect(await t.status(c.txId)).toBe('UNKNOWN');
    expect(await t.status(a.txId)).toBe('UNKNOWN');
    expect(await codeOf(t.commit(c.txId))).toBe('TX_NOT_FOUND');
    expect(await codeOf(t.commit(a.txId))).toBe('TX_NOT_FOUND');
  });

  it('keeps a forgotten commit UNKNOWN (never presumed aborted) after compaction, a crash and a clock step back', async () => {
    const { open, clock, disk } = world();
    const t1 = await open();
    const c = await t1.begin();
    await t1.commit(c.txId);
    clock.advance(OPTS.retentionMs + 1_000);
    await t1.sweep();
    const keep = await t1.begin();
    const { commitTs } = await t1.commit(keep.txId);
    await disk.current.compact();
    disk.fs.powerLoss();

    clock.ms = T0; // the wall clock went back across the restart
    const t2 = await open();
    expect(await t2.status(c.txId)).toBe('UNKNOWN');
    expect(await codeOf(t2.commit(c.txId))).toBe('TX_NOT_FOUND');
    expect((await t2.commit(keep.txId)).commitTs).toBe(commitTs);
  });

  it('bounds remembered decisions: beyond maxRemembered the oldest answer UNKNOWN', async () => {
    const { open, clock } = world({ maxRemembered: 5 });
    const t = await open();
    const txs: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const { txId } = await t.begin();
      await t.commit(txId);
      txs.push(txId);
      clock.advance(2);
    }
    expect(t.stats.remembered).toBe(5);
    expect(await t.status(txs[0]!)).toBe('UNKNOWN');
    expect(await codeOf(t.commit(txs[0]!))).toBe('TX_NOT_FOUND');
    expect(await t.status(txs[7]!)).toBe('COMMITTED');
  });

  it('compacts the journal to the remembered decisions and replays them identically', async () => {
    const { open, clock, disk } = world();
    const t1 = await open(4096);
    const decisions = new Map<bigint, bigint | undefined>();
    for (let i = 0; i < 300; i++) {
      const { txId } = await t1.begin();
      if (i % 3 === 0) await t1.abort(txId);
      else decisions.set(txId, (await t1.commit(txId)).commitTs);
      if (i % 3 === 0) decisions.set(txId, undefined);
      clock.advance(1);
    }
    expect(disk.current.stats.compactions).toBeGreaterThan(0);
    await t1.close();
    const t2 = await open(4096);
    for (const [txId, ts] of decisions) {
      if (ts === undefined) expect(await t2.status(txId)).toBe('ABORTED');
      else expect((await t2.commit(txId)).commitTs).toBe(ts);
    }
  });
});
