/**
 * Seeded crash exploration of a whole TSO shard open (identity, bound,
 * generator) on the crash simulator. Fault models: process death, power loss,
 * and chains of them (process death → restart → service → power loss, ...).
 * Invariants checked after every reopen: no timestamp issued twice; every
 * timestamp a life hands out is above every timestamp acknowledged before it
 * (per shard strictly increasing across faults); the shard always reopens.
 * The clock is frozen per life and may step back between lives, so only the
 * durable bound keeps timestamps increasing.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import { tsoService } from '../src/service.js';

// PHARAOH_CRASH_SCHEDULES changes the count (exploreSchedules reads it too).
const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);

interface Ledger {
  acked: Set<bigint>;
  /** Largest timestamp acknowledged by an earlier life. */
  floor: bigint;
  /** Largest acknowledged so far (this life included). */
  high: bigint;
}

const ledgers = new WeakMap<object, Ledger>();
const ledgerOf = (life: ShardLife<unknown>): Ledger => {
  let l = ledgers.get(life.schedule);
  if (l === undefined) {
    l = { acked: new Set(), floor: -1n, high: -1n };
    ledgers.set(life.schedule, l);
  }
  return l;
};

function ack(l: Ledger, first: bigint, count: number, where: string): void {
  for (let i = 0n; i < BigInt(count); i++) {
    const id = first + i;
    if (id <= l.floor) throw new Error(`${where}: timestamp ${id} is not above ${l.floor}, acknowledged before a fault`);
    if (l.acked.has(id)) throw new Error(`${where}: timestamp ${id} issued twice`);
    l.acked.add(id);
    if (id > l.high) l.high = id;
  }
}

describe('TSO shard: seeded crash exploration', () => {
  it('never reissues or goes below an acknowledged timestamp under process death, power loss and their chains', { timeout: 600_000 }, async () => {
    const handler = tsoService.handlers['ts.get'];
    const report = await exploreShardCrashes({
      def: tsoService,
      schedules: SCHEDULES,
      opsPerLife: 45,
      async check(life) {
        const l = ledgerOf(life);
        l.floor = l.high;
        if (!life.final) return;
        const r = await handler({ shard: 0, count: 3 }, life.handle);
        ack(l, r.first, r.count, `schedule ${life.schedule.seed}, after the last fault`);
      },
      async workload(life) {
        const l = ledgerOf(life);
        const calls = 1 + Math.floor(life.schedule.rng() * 6);
        await Promise.all(
          Array.from({ length: calls }, async (_, i) => {
            const count = 1 + Math.floor(life.schedule.rng() * 4);
            const after = i === 0 && l.high >= 0n ? l.high : undefined;
            const r = await handler({ shard: 0, count, ...(after === undefined ? {} : { after }) }, life.handle);
            if (life.alive()) ack(l, r.first, r.count, `schedule ${life.schedule.seed}, life ${life.index}`);
          }),
        );
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
    expect(report.processDeaths).toBeGreaterThan(SCHEDULES / 2);
  });
});
