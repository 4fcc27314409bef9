/**
 * Startup and recovery figures for bench/scale.bench.ts: restart a TSO process
 * over existing shard directories (after SIGTERM, after SIGKILL under load, and
 * with every shard's durable bound pre-advanced to a far-future value), and
 * open many Obelisk counters at small and huge values. The Obelisk promise
 * being measured: recovery is open + fstat, so its cost does not grow with the
 * counter's value.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Obelisk } from '@pharaoh/obelisk';
import { DEFAULT_EPOCH_MS, TSO_LAYOUT } from '@pharaoh/snowflake';
import { makeTempDir, removeDir } from './common.js';
import { closedLoop } from './load.js';
import { startService, type ServiceProcess } from './pharaoh.js';
import { primeShards, type ConnectClient } from './targets.js';

export interface RestartFigure {
  scenario: string;
  /** Bound value of shard 0 before the start, in ticks (seconds since the epoch); 0 if new. */
  boundTicks: number;
  /** Median over the repetitions. */
  startMs: number;
  openMs: number;
  rssMiB: number;
  samples: number[];
  /** Every shard's first ID after the restart was above its last ID before (or above the advanced bound). */
  monotonic: boolean | undefined;
}

export interface ObeliskOpenFigure {
  value: number;
  counters: number;
  openAllMs: number;
  perCounterUs: number;
}

/** Far-future bound for the "large value" restart: 2090-01-01, within the TSO layout (exhausts 2094). */
export const LARGE_BOUND_TICKS = Math.floor((Date.UTC(2090, 0, 1) - DEFAULT_EPOCH_MS) / 1000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

function shardList(n: number): number[] {
  return Array.from({ length: n }, (_v, i) => i);
}

async function boundOf(data: string): Promise<number> {
  const o = await Obelisk.open(join(data, 'tso', 'shard-0', 'bound'));
  const v = o.value;
  await o.close();
  return v;
}

interface Ctx {
  data: string;
  shards: number;
  connect: ConnectClient;
}

async function start(ctx: Ctx): Promise<ServiceProcess> {
  return startService('tso', { shards: `0-${ctx.shards - 1}`, dataDir: ctx.data, timeoutMs: 180_000 });
}

/** One ID from every shard. */
async function idsPerShard(ctx: Ctx, p: ServiceProcess): Promise<bigint[]> {
  const c = await ctx.connect([p.url]);
  try {
    return await primeShards(c, shardList(ctx.shards));
  } finally {
    await c.close();
  }
}

/** Restart `reps` times after `prepare`, recording start time and whether IDs stayed above `floor`. */
async function timedRestarts(
  ctx: Ctx,
  scenario: string,
  reps: number,
  prepare: (p: ServiceProcess) => Promise<bigint[]>,
  initial: ServiceProcess,
): Promise<{ figure: RestartFigure; last: ServiceProcess }> {
  let p = initial;
  const samples: number[] = [];
  const opens: number[] = [];
  const rss: number[] = [];
  let monotonic = true;
  let bound = 0;
  for (let i = 0; i < reps; i++) {
    const floor = await prepare(p);
    bound = await boundOf(ctx.data);
    p = await start(ctx);
    samples.push(p.startMs);
    opens.push(p.openMs);
    rss.push(p.rss() / 2 ** 20);
    const after = await idsPerShard(ctx, p);
    if (after.some((id, s) => id <= floor[s]!)) monotonic = false;
  }
  const figure = { scenario, boundTicks: bound, startMs: median(samples), openMs: median(opens), rssMiB: median(rss), samples, monotonic };
  return { figure, last: p };
}

/** Startup of a new shard set, then restarts after SIGTERM, after SIGKILL under load, and with far-future bounds. */
export async function measureRestarts(connect: ConnectClient, shards: number, reps: number, log: (s: string) => void): Promise<RestartFigure[]> {
  const ctx: Ctx = { data: makeTempDir('recovery'), shards, connect };
  const out: RestartFigure[] = [];
  try {
    const p = await start(ctx);
    out.push({ scenario: `first start: create ${shards} shard dirs`, boundTicks: 0, startMs: p.startMs, openMs: p.openMs, rssMiB: p.rss() / 2 ** 20, samples: [p.startMs], monotonic: undefined });
    log(`created ${shards} shards in ${Math.round(p.startMs)} ms`);
    const graceful = async (q: ServiceProcess): Promise<bigint[]> => {
      const ids = await idsPerShard(ctx, q);
      await q.stop('SIGTERM');
      return ids;
    };
    let r = await timedRestarts(ctx, 'restart after SIGTERM', reps, graceful, p);
    out.push(r.figure);
    const killed = async (q: ServiceProcess): Promise<bigint[]> => {
      const ids = await idsPerShard(ctx, q);
      const c = await connect([q.url]);
      const load = closedLoop({ concurrency: 64, durationMs: 1000, warmupMs: 0, op: async () => (await c.tso.range(100)).count }).catch(() => undefined);
      await new Promise((res) => setTimeout(res, 500));
      await q.stop('SIGKILL');
      await load;
      await c.close().catch(() => undefined);
      return ids;
    };
    r = await timedRestarts(ctx, 'restart after SIGKILL under load', reps, killed, r.last);
    out.push(r.figure);
    const advanced = async (q: ServiceProcess): Promise<bigint[]> => {
      await q.stop('SIGTERM');
      await advanceBounds(ctx);
      // Every ID after the restart must be above the advanced bound: its smallest possible ID.
      return shardList(ctx.shards).map((s) => TSO_LAYOUT.encode({ time: LARGE_BOUND_TICKS * 1000, shard: s, seq: 0 }) - 1n);
    };
    r = await timedRestarts(ctx, 'restart with every bound pre-advanced to 2090', reps, advanced, r.last);
    out.push(r.figure);
    await r.last.stop('SIGTERM');
    log(`restarts: ${out.map((f) => `${f.scenario} ${Math.round(f.startMs)} ms`).join('; ')}`);
  } finally {
    removeDir(ctx.data);
  }
  return out;
}

async function advanceBounds(ctx: Ctx): Promise<void> {
  for (const s of shardList(ctx.shards)) {
    const o = await Obelisk.open(join(ctx.data, 'tso', `shard-${s}`, 'bound'));
    // advanceTo is a monotonic max; a later restart in this loop finds it already there.
    if (o.value < LARGE_BOUND_TICKS) await o.advanceTo(LARGE_BOUND_TICKS);
    await o.close();
  }
}

/**
 * Time opening `counters` Obelisk counters that hold `value`, for each value
 * (set up untimed first). Rounds interleave the values so that a change of
 * background load hits every value alike; the median round is reported.
 */
export async function measureObeliskOpen(counters: number, values: number[], reps: number): Promise<ObeliskOpenFigure[]> {
  const dirs = values.map(() => makeTempDir('obelisk-open'));
  try {
    // One directory per counter, as each shard has its own: a directory listing is part of every open.
    const paths = dirs.map((dir) => shardList(counters).map((i) => join(dir, `shard-${i}`, 'bound')));
    for (const p of paths.flat()) mkdirSync(dirname(p));
    for (const [k, value] of values.entries()) {
      for (const path of paths[k]!) {
        const o = await Obelisk.open(path);
        await o.advanceTo(value);
        await o.close();
      }
    }
    const times: number[][] = values.map(() => []);
    for (let rep = 0; rep < reps; rep++) {
      for (const [k, value] of values.entries()) {
        const t0 = performance.now();
        const opened = await Promise.all(paths[k]!.map((path) => Obelisk.open(path)));
        times[k]!.push(performance.now() - t0);
        if (opened.some((o) => o.value !== value)) throw new Error(`a counter reopened at a value other than ${value}`);
        await Promise.all(opened.map((o) => o.close()));
      }
    }
    return values.map((value, k) => {
      const ms = median(times[k]!);
      return { value, counters, openAllMs: ms, perCounterUs: (ms * 1000) / counters };
    });
  } finally {
    for (const dir of dirs) removeDir(dir);
  }
}
