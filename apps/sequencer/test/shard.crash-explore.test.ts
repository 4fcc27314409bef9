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
 * - idempotent retries: every offsets.assign carries a token (producerId,
 *   seq); a request whose answer a fault lost is retried with the same token
 *   at the start of the next life (and again after a fault during the retry),
 *   and must get exactly the range it took (whether its record survived or
 *   not), so after the last fault each partition's acknowledged ranges tile
 *   [0, end) without a single hole;
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
  /** Every range acknowledged, in any life (retries included). */
  allRanges: Array<[number, number]>;
  /** The last seq this partition's lane sent (producerId PRODUCER). */
  seq: number;
  /** The first request a fault left unanswered: its token, count and the range it took (or would take). */
  pending?: { seq: number; count: number; first: number } | undefined;
}

const PRODUCER = 77;

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
    b = { cdc: [], cdcMax: new Map(), offsets: new Map(PARTITIONS.map((p) => [p, { ackedEnd: 0, takenEnd: 0, lifeStart: 0, lifeRanges: [], allRanges: [], seq: 0 }])) };
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
  const first = p.lifeStart + p.lifeRanges.reduce((n, [a, b]) => n + b - a, 0);
  // Counted before the call: a fault may take the range and lose the answer.
  p.takenEnd = Math.max(p.takenEnd, first + count);
  const seq = ++p.seq;
  // Calls of a lane run one after another: a pending request here means a fault already ended this life.
  const mine = p.pending === undefined;
  if (mine) p.pending = { seq, count, first };
  const r = await sequencerService.handlers['offsets.assign']({ shard: 0, partition, count, producerId: PRODUCER, seq }, life.handle);
  if (!life.alive() || !mine) return;
  p.pending = undefined;
  if (r.count !== count) fail(life, `${partition}: asked ${count} offsets, got ${r.count}`);
  if (r.first !== first) fail(life, `${partition}: got ${r.first}+${r.count}, expected ${first} (dense)`);
  ack(p, r.first, r.count);
}

function ack(p: PartitionBook, first: number, count: number): void {
  if (first >= p.lifeStart) p.lifeRanges.push([first, first + count]);
  p.allRanges.push([first, first + count]);
  p.ackedEnd = Math.max(p.ackedEnd, first + count);
}

/** Retry each partition's request whose answer a fault lost, with its token: it must get exactly the range it took. */
async function retryLost(life: Life): Promise<void> {
  for (const [name, p] of bookOf(life).offsets) {
    const lost = p.pending;
    if (lost === undefined) continue;
    const r = await sequencerService.handlers['offsets.assign']({ shard: 0, partition: name, count: lost.count, producerId: PRODUCER, seq: lost.seq }, life.handle);
    if (!life.alive()) return;
    if (r.first !== lost.first || r.count !== lost.count) {
      fail(life, `${name}: the retry of seq ${lost.seq} got ${r.first}+${r.count}, not the range ${lost.first}+${lost.count} it took`);
    }
    p.pending = undefined;
    ack(p, r.first, r.count);
  }
}

/** After the last fault (every lost answer retried): a partition's acknowledged ranges tile [0, end), not one hole. */
function checkNoHoles(life: Life): void {
  for (const [name, p] of bookOf(life).offsets) {
    let at = 0;
    for (const [a, b] of [...p.allRanges].sort((x, y) => x[0] - y[0])) {
      if (a !== at) fail(life, `${name}: range ${a}..${b - 1} follows ${at - 1}: a hole (or an offset twice) despite the retries`);
      at = b;
    }
  }
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
  it('keeps CDC ids unique and increasing per table, and offsets dense, never reissued and without holes once lost answers are retried, under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    expect(TABLES).toHaveLength(2);
    expect(PARTITIONS).toHaveLength(2);
    const report = await exploreShardCrashes({
      def: sequencerService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      async check(life) {
        checkResume(life);
        await retryLost(life);
        if (life.final) {
          await assign(life, PARTITIONS[0]!, 1);
          await cdcNext(life, TABLES[0]!, 1);
          checkDense(life);
          checkNoHoles(life);
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
