/**
 * The sequencer in the crash test: `client.cdc.next(table, n)` and
 * `client.offsets.assign(partition, n)` under kills.
 *
 * Keys: each worker loop has its own two tables and two partitions (served
 * shards only), touched by that loop alone, one call at a time, so their
 * answers are ordered. Every call is logged before it is sent (`seq.try`), its
 * answer when it arrives (`seq.cdc` / `seq.off`).
 *
 * Checks:
 * - CDC ids (shared checks, space `sequencer`): never issued twice, per shard
 *   strictly increasing in real-time order and across every restart; and per
 *   table each range above the table's previous one (`cdc-table-order`);
 * - offsets, per partition in call order: a range never starts below the end
 *   of an acknowledged one (`offsets-reissued`: an acknowledged offset handed
  *   out again); and it starts exactly at the previous end plus the counts of
  *   some of the calls of the partition that failed in between (each may have
  *   taken its range; `subsetSums`), or anywhere above it if its shard was
  *   restored from a backup in between (`offsets-gap`: dense means dense). A
  *   kill or a move in between is no excuse: the client retries a request
  *   whose answer was lost with its idempotency token and gets the same range,
  *   so only a call that failed for good may leave a hole, of its own size
  *   (and a restore its one jump);
 * - read back after the final crash and restart: each partition's next offset
 *   is at or above every acknowledged end, each table's next CDC id above every
 *   acknowledged one (`offsets-readback`, `cdc-readback`).
 */
import type { PharaohClient } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import type { Issue } from '../check.js';
import type { HarnessEvent } from '../events.js';
import { ask, pool, type ChaosPlugin, type PluginEvent, type StepContext } from './plugin.js';

const SERVICE = 'sequencer';
/** Keys of each kind per worker loop: two, so a loop alternates between shards. */
const KEYS_PER_LOOP = 2;
/** Counts per call: small enough that a run issues many calls, large enough to batch. */
const MAX_CDC_COUNT = 20;
const MAX_OFFSET_COUNT = 10;

interface Final {
  /** Per partition: its next offset after the run, or the error code. */
  offsets: Map<string, number | string>;
  /** Per table: its next CDC id after the run, or the error code. */
  cdc: Map<string, bigint | string>;
}

const keyOf = (ctx: StepContext, kind: 't' | 'p', i: number): string => ctx.servedKey(`seq-${kind}-${ctx.w}-${ctx.loop}-${i}`);

async function takeCdc(ctx: StepContext, table: string, n: number): Promise<void> {
  ctx.log({ k: 'seq.try', key: table, n });
  const t = ctx.timed();
  try {
    const r = await ctx.client.cdc.next(table, n);
    ctx.log({ ...ctx.done(t, { k: 'seq.cdc', key: table, first: String(r.first), n: r.count }) });
  } catch (err) {
    await ctx.fail('cdc.next', err);
  }
}

async function takeOffsets(ctx: StepContext, partition: string, n: number): Promise<void> {
  ctx.log({ k: 'seq.try', key: partition, n });
  const t = ctx.timed();
  try {
    const r = await ctx.client.offsets.assign(partition, n);
    ctx.log({ ...ctx.done(t, { k: 'seq.off', key: partition, first: r.first, n: r.count }) });
  } catch (err) {
    await ctx.fail('offsets.assign', err);
  }
}

async function step(ctx: StepContext): Promise<void> {
  const i = Math.floor(ctx.rnd() * KEYS_PER_LOOP);
  if (ctx.rnd() < 0.5) return takeCdc(ctx, keyOf(ctx, 't', i), 1 + Math.floor(ctx.rnd() * MAX_CDC_COUNT));
  return takeOffsets(ctx, keyOf(ctx, 'p', i), 1 + Math.floor(ctx.rnd() * MAX_OFFSET_COUNT));
}

function issues(events: PluginEvent[]): Issue[] {
  const out: Issue[] = [];
  for (const e of events) {
    if (e.k !== 'seq.cdc') continue;
    const lo = BigInt(e['first'] as string);
    const n = e['n'] as number;
    out.push({
      space: SERVICE,
      shard: CDC_LAYOUT.shardOf(lo),
      lo,
      hi: lo + BigInt(n - 1),
      w: e.w,
      s: e['s'] as number,
      r: e['r'] as number,
      ls: e['ls'] as number,
      lr: e['lr'] as number,
      what: `cdc ${e['key'] as string} ${lo}+${n}`,
      // cdc.next carries no `after`: a client's ids of different tables are not ordered.
      clientOrdered: false,
    });
  }
  return out;
}

/** Each key's events in log order (one loop touches a key, one call at a time: log order is call order). */
function byKey(events: PluginEvent[]): Map<string, PluginEvent[]> {
  const m = new Map<string, PluginEvent[]>();
  for (const e of events) {
    const key = e['key'];
    if (typeof key !== 'string') continue;
    (m.get(key) ?? m.set(key, []).get(key)!).push(e);
  }
  return m;
}

/**
 * True if `key`'s shard was restored from a backup between two answers
 * received at `from` and `to` (wall ms): the first from the lost process
 * (received before the restored one started), the second after the restart.
 */
function restoredBetween(harness: HarnessEvent[], key: string, from: number, to: number): boolean {
  const shard = shardForKey(key);
  return harness.some((h) => h.k === 'restore' && h.service === SERVICE && h.shards.includes(shard) && h.tStart >= from && h.tStart <= to);
}

/** Every total some of `counts` make (0 included): the holes calls without an answer may have left, each having taken its range or not. */
export function subsetSums(counts: readonly number[]): Set<number> {
  let sums = new Set([0]);
  for (const c of counts) sums = new Set([...sums, ...[...sums].map((x) => x + c)]);
  return sums;
}

async function readBack(client: PharaohClient, events: PluginEvent[]): Promise<Final> {
  const final: Final = { offsets: new Map(), cdc: new Map() };
  const keys = [...byKey(events)].filter(([, list]) => list.some((e) => e.k === 'seq.off' || e.k === 'seq.cdc'));
  await pool(keys, async ([key, list]) => {
    if (list.some((e) => e.k === 'seq.off')) {
      const r = await ask(() => client.offsets.assign(key, 1));
      final.offsets.set(key, 'error' in r ? r.error : r.first);
    } else {
      const r = await ask(() => client.cdc.next(key));
      final.cdc.set(key, 'error' in r ? r.error : r.first);
    }
  });
  return final;
}

export const sequencerPlugin: ChaosPlugin<Final> = {
  service: SERVICE,
  weight: 0.1,
  step,
  issues,
  readBack,
  check({ events, harness, final, violations }) {
    let offsetRanges = 0;
    let cdcRanges = 0;
    let readBacks = 0;
    for (const [key, list] of byKey(events)) {
      let prevEnd: number | undefined;
      let prevAt = 0;
      let lastCdc: bigint | undefined;
      /** Counts of the calls since the last acknowledged range whose answer never came: each may have taken its range. */
      let unanswered: number[] = [];
      let pending: number | undefined;
      for (const e of list) {
        if (e.k === 'seq.try') {
          // A try not followed by its answer failed (its range may have been taken).
          if (pending !== undefined) unanswered.push(pending);
          pending = e['n'] as number;
          continue;
        }
        pending = undefined;
        if (e.k === 'seq.off') {
          offsetRanges++;
          const first = e['first'] as number;
          const end = first + (e['n'] as number);
          if (prevEnd !== undefined && first < prevEnd) {
            violations.push({ check: 'offsets-reissued', detail: `partition ${key}: range ${first}+${e['n'] as number} (worker ${e.w}) starts below ${prevEnd}, the end of a range acknowledged before` });
          } else if (prevEnd !== undefined && first > prevEnd && !subsetSums(unanswered).has(first - prevEnd) && !restoredBetween(harness, key, prevAt, e['r'] as number)) {
            const lost = unanswered.length === 0 ? 'no call failed' : `no set of the calls that failed (${unanswered.join(', ')} offsets) makes ${first - prevEnd}`;
            violations.push({ check: 'offsets-gap', detail: `partition ${key}: range ${first}+${e['n'] as number} (worker ${e.w}) leaves a gap of ${first - prevEnd} after ${prevEnd - 1}: ${lost}, and no restore in between (a retry with its token would have got the same range)` });
          }
          prevEnd = Math.max(prevEnd ?? 0, end);
          prevAt = e['r'] as number;
          unanswered = [];
        } else if (e.k === 'seq.cdc') {
          cdcRanges++;
          const first = BigInt(e['first'] as string);
          if (lastCdc !== undefined && first <= lastCdc) {
            violations.push({ check: 'cdc-table-order', detail: `table ${key}: cdc id ${first} (worker ${e.w}) is not above ${lastCdc} acknowledged before` });
          }
          lastCdc = first + BigInt((e['n'] as number) - 1);
        }
      }
      const offAfter = final?.offsets.get(key);
      if (prevEnd !== undefined && offAfter !== undefined) {
        readBacks++;
        if (typeof offAfter === 'string') violations.push({ check: 'offsets-readback', detail: `partition ${key}: offsets.assign after the run failed: ${offAfter}` });
        else if (offAfter < prevEnd) violations.push({ check: 'offsets-readback', detail: `partition ${key}: after the run it hands out ${offAfter}, below ${prevEnd} acknowledged before` });
      }
      const cdcAfter = final?.cdc.get(key);
      if (lastCdc !== undefined && cdcAfter !== undefined) {
        readBacks++;
        if (typeof cdcAfter === 'string') violations.push({ check: 'cdc-readback', detail: `table ${key}: cdc.next after the run failed: ${cdcAfter}` });
        else if (cdcAfter <= lastCdc) violations.push({ check: 'cdc-readback', detail: `table ${key}: after the run cdc.next gives ${cdcAfter}, not above ${lastCdc}` });
      }
    }
    return { 'offset ranges checked': offsetRanges, 'cdc ranges checked': cdcRanges, 'keys read back': readBacks };
  },
};

/**
 * For other drivers of this plug-in (the power-cut model in tools/powercut,
 * which checks after every restart): one call on every key `events` name —
 * `offsets.assign(partition, 1)`, `cdc.next(table)` — logged like the step's,
 * so `check` judges the first answers after a restart with the rest. No step
 * may use the keys meanwhile. Resolves to the number of keys asked.
 */
export async function takeEach(ctx: StepContext, events: PluginEvent[]): Promise<number> {
  const keys = [...byKey(events).keys()];
  await pool(keys, (key) => (key.startsWith('seq-p-') ? takeOffsets(ctx, key, 1) : takeCdc(ctx, key, 1)), 32);
  return keys.length;
}
