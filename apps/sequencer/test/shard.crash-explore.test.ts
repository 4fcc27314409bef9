/**
 * Seeded crash exploration of a whole sequencer shard open (identity, bound,
 * generator, journal replay, offset table) on the crash simulator, through
 * the service's own handlers. Fault models: process death, power loss, and
 * chains of them (process death → restart → service → power loss, ...),
 * striking at a random file operation of a life (open and replay included)
 * or after its workload.
 * Invariants checked after every reopen and on every answer:
 * - cdc.next: no event id issued twice (all ranges of the shard disjoint),
 *   each table's ids strictly increasing across every life, the shard in
 *   their bits;
 * - offsets.assign: a partition resumes at or above the end of every range
 *   acknowledged before (nothing acknowledged is handed out again) and at or
 *   below the end of what was taken (dense: it skips only ranges whose answer
 *   was lost to the fault); within a life the acknowledged ranges tile the
 *   offsets from where it resumed, without a gap;
 * - the shard always reopens.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import type { SequencerOptions } from '../src/options.js';
import { sequencerService, type SequencerShard } from '../src/service.js';
import { keysFor } from './helpers.js';

type Life = ShardLife<SequencerShard, SequencerOptions>;

const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);
const TABLES = keysFor(0, 2, 'table');
const PARTITIONS = keysFor(0, 2, 'partition');

interface PartitionBook {
  /** End of every range acknowledged in any life: a later life must resume at or above it. */
  ackedEnd: number;
  /** The most any life could have taken (where it resumed + every count it asked for). */
  takenEnd: number;
  /** Where the current life resumed, and the ranges it acknowledged. */
  lifeStart: number;
  lifeRanges: Array<[number, number]>;
}

interface Book {
  /** Every acknowledged CDC range of the shard, [first, last]. */
  cdc: Array<[bigint, bigint]>;
  /** Largest id acknowledged per table. */
  cdcMax: Map<string, bigint>;
  offsets: Map<string, PartitionBook>;
}

const books = new WeakMap<object, Book>();
function bookOf(life: Life): Book {
  let b = books.get(life.schedule);
  if (b === undefined) {
    b = { cdc: [], cdcMax: new Map(), offsets: new Map(PARTITIONS.map((p) => [p, { ackedEnd: 0, takenEnd: 0, lifeStart: 0, lifeRanges: [] }])) };
    books.set(life.schedule, b);
  }
  return b;
}

const fail = (life: Life, what: string): never => {
  throw new Error(`life ${life.index}${life.final ? ' (after the last fault)' : ''}: ${what}`);
};

async function cdcNext(life: Life, table: string, count: number): Promise<void> {
  const r = await sequencerService.handlers['cdc.next']({ shard: 0, table, count }, life.handle);
  if (!life.alive()) return;
  const book = bookOf(life);
  const last = r.first + BigInt(r.count - 1);
  if (r.count < 1 || r.count > count) fail(life, `cdc.next ${table} asked ${count}, got ${r.count}`);
  if (CDC_LAYOUT.shardOf(r.first) !== 0 || CDC_LAYOUT.shardOf(last) !== 0) fail(life, `cdc range ${r.first}+${r.count} is not all shard 0`);
  const max = book.cdcMax.get(table);
  if (max !== undefined && r.first <= max) fail(life, `${table}: cdc id ${r.first} is not above ${max} acknowledged before`);
  for (const [lo, hi] of book.cdc) if (r.first <= hi && last >= lo) fail(life, `cdc range ${r.first}..${last} overlaps ${lo}..${hi} issued before`);
  book.cdc.push([r.first, last]);
  book.cdcMax.set(table, last);
}

async function assign(life: Life, partition: string, count: number): Promise<void> {
  const p = bookOf(life).offsets.get(partition)!;
  // Counted before the call: a fault may take the range and lose the answer.
  p.takenEnd = Math.max(p.takenEnd, p.lifeStart + count + p.lifeRanges.reduce((n, [a, b]) => n + b - a, 0));
  const r = await sequencerService.handlers['offsets.assign']({ shard: 0, partition, count }, life.handle);
  if (!life.alive()) return;
  if (r.count !== count) fail(life, `${partition}: asked ${count} offsets, got ${r.count}`);
  p.lifeRanges.push([r.first, r.first + r.count]);
  p.ackedEnd = Math.max(p.ackedEnd, r.first + r.count);
}

/** Where each partition resumes: above everything acknowledged, not beyond what was taken. Then start the life's books. */
function checkResume(life: Life): void {
  for (const [name, p] of bookOf(life).offsets) {
    const start = life.handle.state.table.peek(name) ?? 0;
    if (start < p.ackedEnd) fail(life, `${name} resumes at ${start}, below ${p.ackedEnd}: offsets acknowledged before would be handed out again`);
    if (start > p.takenEnd) fail(life, `${name} resumes at ${start}, above ${p.takenEnd}: it skipped offsets no request took`);
    p.lifeStart = start;
    p.lifeRanges = [];
  }
}

/** Within a life (no fault yet), a partition's acknowledged ranges tile [lifeStart, ...) without a gap. */
function checkDense(life: Life): void {
  if (!life.alive()) return;
  for (const [name, p] of bookOf(life).offsets) {
    let at = p.lifeStart;
    for (const [a, b] of [...p.lifeRanges].sort((x, y) => x[0] - y[0])) {
      if (a !== at) fail(life, `${name}: range ${a}..${b - 1} follows ${at - 1}: not dense`);
      at = b;
    }
  }
}

describe('sequencer shard: seeded crash exploration', () => {
  it('keeps CDC ids unique and increasing per table, and offsets dense and never reissued, under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    expect(TABLES).toHaveLength(2);
    expect(PARTITIONS).toHaveLength(2);
    const report = await exploreShardCrashes({
      def: sequencerService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      async check(life) {
        checkResume(life);
        if (life.final) {
          await assign(life, PARTITIONS[0]!, 1);
          await cdcNext(life, TABLES[0]!, 1);
          checkDense(life);
        }
      },
      async workload(life) {
        const rng = life.schedule.rng;
        const n = Math.floor(rng() * 6);
        // Calls of one key run one after another (their order is what is checked); keys run at once.
        const lanes = [...TABLES, ...PARTITIONS].map(async (key, k) => {
          for (let i = 0; i < n; i++) {
            const count = 1 + Math.floor(rng() * 50);
            if (k < TABLES.length) await cdcNext(life, key, count);
            else await assign(life, key, count);
          }
        });
        await Promise.all(lanes);
        checkDense(life);
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
  });
});
