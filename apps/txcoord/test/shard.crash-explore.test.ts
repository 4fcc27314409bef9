/**
 * Seeded crash exploration of a whole txcoord shard open (identity, bound,
 * generator, journal replay, transaction table) on the crash simulator. Fault
 * models: process death, power loss, and chains of them (process death →
 * restart → service → power loss, ...), striking at a random file operation
 * of a life (open and replay included) or after its workload.
 * Invariants checked after every reopen: every decision a client was told —
 * an acknowledged commit (with its commitTs) or abort, and every COMMITTED /
 * ABORTED that any earlier life answered, also one it answered from a replay —
 * reads the same; txIds are never issued twice and each life's are above every
 * earlier life's; the shard always reopens.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import { txcoordService, type TxcoordShard } from '../src/service.js';

const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);

interface Ledger {
  /** What clients were told about each decided transaction: 'ABORTED' or the commitTs. */
  told: Map<bigint, bigint | 'ABORTED'>;
  /** Every txId begun, decided or not (a commit may have been in flight when a fault struck). */
  txIds: Set<bigint>;
  floor: bigint;
  high: bigint;
}

const ledgers = new WeakMap<object, Ledger>();
function ledgerOf(life: ShardLife<TxcoordShard>): Ledger {
  let l = ledgers.get(life.schedule);
  if (l === undefined) {
    l = { told: new Map(), txIds: new Set(), floor: -1n, high: -1n };
    ledgers.set(life.schedule, l);
  }
  return l;
}

const fail = (life: ShardLife<TxcoordShard>, what: string): never => {
  throw new Error(`life ${life.index}${life.final ? ' (after the last fault)' : ''}: ${what}`);
};

function tell(life: ShardLife<TxcoordShard>, txId: bigint, outcome: bigint | 'ABORTED'): void {
  if (!life.alive()) return;
  const l = ledgerOf(life);
  const before = l.told.get(txId);
  if (before !== undefined && before !== outcome) fail(life, `tx ${txId} was ${String(before)}, now ${String(outcome)}`);
  l.told.set(txId, outcome);
}

async function checkDecisions(life: ShardLife<TxcoordShard>): Promise<void> {
  const table = life.handle.state.table;
  const l = ledgerOf(life);
  // Ask about every transaction an earlier life began and did not tell about:
  // one whose commit was cut by the fault may be replayed as COMMITTED, and
  // that answer is a promise the next faults must keep.
  for (const txId of l.txIds) {
    if (l.told.has(txId)) continue;
    const status = await table.status(txId);
    if (status === 'COMMITTED') tell(life, txId, (await table.commit(txId)).commitTs);
    else if (status === 'ABORTED') tell(life, txId, 'ABORTED');
    else if (life.alive()) fail(life, `tx ${txId} begun before a fault reads ${status}, not a decision`);
  }
  for (const [txId, outcome] of l.told) {
    const status = await table.status(txId);
    if (!life.alive()) return;
    if (outcome === 'ABORTED') {
      if (status !== 'ABORTED') fail(life, `tx ${txId} was told ABORTED, now reads ${status}`);
      continue;
    }
    if (status !== 'COMMITTED') fail(life, `tx ${txId} was told COMMITTED (commitTs ${outcome}), now reads ${status}`);
    const again = await table.commit(txId);
    if (life.alive() && again.commitTs !== outcome) fail(life, `tx ${txId}: commitTs ${outcome} became ${again.commitTs}`);
  }
}

async function oneTransaction(life: ShardLife<TxcoordShard>): Promise<void> {
  const table = life.handle.state.table;
  const l = ledgerOf(life);
  const rng = life.schedule.rng;
  const { txId } = await table.begin(undefined, rng() < 0.3 && l.high >= 0n ? l.high : undefined);
  if (life.alive()) {
    if (txId <= l.floor) fail(life, `txId ${txId} is not above ${l.floor}, issued before a fault`);
    if (l.txIds.has(txId)) fail(life, `txId ${txId} issued twice`);
    l.txIds.add(txId);
    if (txId > l.high) l.high = txId;
  }
  const roll = rng();
  if (roll < 0.5) tell(life, txId, (await table.commit(txId)).commitTs);
  else if (roll < 0.8) {
    await table.abort(txId);
    tell(life, txId, 'ABORTED');
  }
  // Read an older decision back: an answer given from replayed state is a promise too.
  const old = [...l.told.keys()];
  const probe = old[Math.floor(rng() * old.length)];
  if (probe !== undefined) {
    const status = await table.status(probe);
    if (status === 'ABORTED') tell(life, probe, 'ABORTED');
    else if (status === 'COMMITTED') tell(life, probe, (await table.commit(probe)).commitTs);
  }
}

describe('txcoord shard: seeded crash exploration', () => {
  it('keeps every decision it told a client and never reissues a txId under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    const report = await exploreShardCrashes({
      def: txcoordService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      async check(life) {
        const l = ledgerOf(life);
        l.floor = l.high;
        await checkDecisions(life);
        if (life.final) await oneTransaction(life);
      },
      async workload(life) {
        const n = 1 + Math.floor(life.schedule.rng() * 4);
        // The clock is frozen: no transaction times out, so no call here may be refused.
        await Promise.all(Array.from({ length: n }, () => oneTransaction(life)));
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
  });
});
