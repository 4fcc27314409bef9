/**
 * Headline numbers and floors for the summary at the top of docs/BENCHMARKS.md,
 * read from each benchmark's bench/results/<name>.json. Each benchmark writes
 * its own JSON shape; an extractor that does not recognise a shape returns
 * nothing rather than guessing (the section itself still has the numbers).
 */

import { percentile } from './report.js';

// Issue 16's floors for a 1024-shard TSO process.
const START_FRESH_FLOOR_MS = 800;
const START_RESTART_FLOOR_MS = 500;
const RSS_FLOOR_BYTES = 100e6;

export interface Headline {
  bench: string;
  measure: string;
  value: string;
  /** The floor or goal, as text ("≥ 0.8× raw"). */
  floor?: string;
  /** measured ÷ floor for "at least" floors, floor ÷ measured for "at most" ones: ≥ 1 means met. */
  ratio?: number;
}

type J = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const obj = (v: unknown): J => (v !== null && typeof v === 'object' ? (v as J) : {});

export function si(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(n >= 100 ? 0 : 2);
}

function atLeast(bench: string, measure: string, measured: number | undefined, floor: number, shown: string, floorText: string): Headline[] {
  if (measured === undefined) return [];
  return [{ bench, measure, value: shown, floor: floorText, ratio: measured / floor }];
}

function atMost(bench: string, measure: string, measured: number | undefined, limit: number, shown: string, limitText: string): Headline[] {
  if (measured === undefined) return [];
  return [{ bench, measure, value: shown, floor: limitText, ratio: limit / measured }];
}

function obelisk(j: J): Headline[] {
  const r1 = num(j.ratio1);
  const r256 = num(j.ratio256);
  const c256 = arr(j.results).find((r) => String(r.name).includes('256 callers'));
  const out: Headline[] = [];
  if (c256 && num(c256.perSec)) out.push({ bench: 'obelisk', measure: 'durable increments/s, 256 callers', value: si(num(c256.perSec)!) });
  // Since issue 16 the bench lists its floors (median of its runs) itself.
  const floors = arr(j.floors);
  if (floors.length > 0) {
    return out.concat(floors.flatMap((f) => atLeast('obelisk', String(f.measure), num(f.median), num(f.floor) ?? NaN, String(f.shownMedian), String(f.floorText))));
  }
  out.push(...atLeast('obelisk', '1 caller vs raw ftruncate+fdatasync', r1, 0.8, `${r1?.toFixed(2)}×`, '≥ 0.8×'));
  out.push(...atLeast('obelisk', '256 callers vs raw (group commit)', r256, 40, `${r256?.toFixed(1)}×`, '≥ 40×'));
  return out;
}

function snowflake(j: J): Headline[] {
  const m = obj(j.median);
  const rate = (k: string): number | undefined => {
    const x = obj(m[k]);
    const ids = num(x.ids);
    const ms = num(x.ms);
    return ids !== undefined && ms ? (ids / ms) * 1000 : undefined;
  };
  const floors = obj(j.floors);
  const next = rate('genNext');
  const range = rate('genRange');
  return [
    ...atLeast('snowflake', '`next()` IDs/s', next, num(floors.next) ?? 2e6, si(next ?? 0), `≥ ${si(num(floors.next) ?? 2e6)}`),
    ...atLeast('snowflake', '`nextRange(100)` IDs/s', range, num(floors.range) ?? 2e7, si(range ?? 0), `≥ ${si(num(floors.range) ?? 2e7)}`),
  ];
}

function journal(j: J): Headline[] {
  const r = num(j.ratio256);
  const c = arr(j.cases).find((x) => num(x.appenders) === 256);
  const out: Headline[] = [];
  if (c && num(c.perSec)) out.push({ bench: 'journal', measure: 'durable appends/s, 256 appenders', value: si(num(c.perSec)!) });
  out.push(...atLeast('journal', '256 appenders vs raw write+fdatasync', r, num(j.floor256) ?? 30, `${r?.toFixed(1)}×`, `≥ ${num(j.floor256) ?? 30}×`));
  return out;
}

function tso(j: J): Headline[] {
  const results = arr(j.results);
  const rps = (x: unknown): number | undefined => num(obj(x).requestsPerSec);
  const single = results
    .filter((r) => num(obj(r.case).count) === 1)
    .map((r) => {
      const t = rps(r.tso);
      const e = rps(r.echo);
      return t !== undefined && e ? t / e : undefined;
    })
    .filter((x): x is number => x !== undefined);
  const batch = results.find((r) => (num(obj(r.case).count) ?? 1) > 1);
  const batchIds = num(obj(batch?.tso).idsPerSec);
  const worst = single.length ? Math.min(...single) : undefined;
  const starts = arr(j.starts);
  const walls = (command: string, kind: string): number[] =>
    starts
      .filter((s) => s.command === command && s.kind === kind)
      .map((s) => num(s.wallMs))
      .filter((x): x is number => x !== undefined);
  // Issue 16's start floors: fresh < 800 ms, restart < 500 ms (spawn → listening), the median of the runs.
  const startLines = (['fresh', 'restart'] as const).flatMap((kind) => {
    const w = walls('bundle', kind);
    if (w.length === 0) return [];
    const median = percentile(w, 50);
    const floor = kind === 'fresh' ? START_FRESH_FLOOR_MS : START_RESTART_FLOOR_MS;
    const what = kind === 'fresh' ? 'fresh data dir' : 'restart';
    return atMost(
      'tso',
      `1024-shard start, ${what}, \`pharaoh serve\` (median of ${w.length}, spawn → listening)`,
      median,
      floor,
      `${Math.round(median)} ms (runs: ${w.map((x) => Math.round(x)).join(', ')})`,
      `< ${floor} ms`,
    );
  });
  const tsxLines = (['fresh', 'restart'] as const).flatMap((kind) => {
    const w = walls('tsx', kind);
    if (w.length === 0) return [];
    return [{ bench: 'tso', measure: `1024-shard start, ${kind === 'fresh' ? 'fresh data dir' : 'restart'}, sources through tsx (median of ${w.length})`, value: `${Math.round(percentile(w, 50))} ms` }];
  });
  const rss = num(j.rssAfterLoad);
  // Issue 16's latency floors, listed by the bench itself (ratio ≥ 1 means met).
  const latency = arr(j.floors).map((f) => ({ bench: 'tso', measure: String(f.measure), value: String(f.shownMedian), floor: String(f.floorText), ratio: num(f.median) }));
  return [
    ...atLeast('tso', 'single-ID requests/s vs echo server (worst case)', worst, 0.7, `${worst?.toFixed(2)}×`, '≥ 0.7×'),
    ...latency,
    ...atLeast('tso', 'batched IDs/s', batchIds, 2e6, si(batchIds ?? 0), '≥ 2.00 M'),
    ...startLines,
    ...tsxLines,
    ...atMost('tso', '1024-shard RSS after load', rss === undefined ? undefined : rss * 2 ** 20, RSS_FLOOR_BYTES, `${((rss ?? 0) * 2 ** 20 / 1e6).toFixed(0)} MB`, '< 100 MB'),
  ];
}

function client(j: J): Headline[] {
  // Since issue 16 the bench lists its floors (median of its runs) itself.
  const floors = arr(j.floors);
  if (floors.length > 0) {
    const rows: Headline[] = [];
    for (const mode of ['router', 'keyed'] as const) {
      const c64 = arr(j.results).find((x) => x.mode === mode && num(x.callers) === 64);
      if (c64 && num(c64.perSec)) rows.push({ bench: 'client', measure: `\`tso.next(${mode === 'keyed' ? '{ key }' : ''})\` calls/s, 64 callers`, value: si(num(c64.perSec)!) });
    }
    return rows.concat(floors.flatMap((f) => atLeast('client', String(f.measure), num(f.median), num(f.floor) ?? NaN, String(f.shownMedian), String(f.floorText))));
  }
  const r = num(j.ratio1024);
  const router1024 = arr(j.results).find((x) => x.mode === 'router' && num(x.callers) === 1024);
  const rate = num(router1024?.perSec);
  return [
    ...atLeast('client', '1024 callers via router vs raw single-ID rate', r, 3, `${r?.toFixed(1)}×`, '≥ 3×'),
    ...atLeast('client', '`tso.next()` calls/s, 1024 callers (goal)', rate, 1e6, si(rate ?? 0), 'goal 1 M'),
  ];
}

function scale(j: J): Headline[] {
  const big = arr(j.shardCounts).find((f) => num(f.shards) === 1024);
  const out: Headline[] = [];
  if (!big) return out;
  const next = num(obj(big.next).idsPerSec);
  if (next !== undefined) out.push({ bench: 'scale', measure: '1024-shard process, `next()` IDs/s', value: si(next) });
  const peak = num(big.peakRssMiB);
  out.push(...atMost('scale', '1024-shard start (spawn → listening)', num(big.startMs), 2000, `${Math.round(num(big.startMs) ?? 0)} ms`, '< 2000 ms'));
  out.push(...atMost('scale', '1024-shard peak RSS under load', peak === undefined ? undefined : peak * 2 ** 20, 300e6, `${(((peak ?? 0) * 2 ** 20) / 1e6).toFixed(0)} MB`, '< 300 MB'));
  const rec = arr(j.restarts);
  const small = rec.find((f) => String(f.scenario).includes('SIGTERM'));
  const large = rec.find((f) => String(f.scenario).includes('pre-advanced'));
  if (small && large && num(small.openMs) && num(large.openMs)) {
    out.push({
      bench: 'scale',
      measure: 'shard open time, bounds at 2090 vs at now',
      value: `${(num(large.openMs)! / num(small.openMs)!).toFixed(2)}×`,
      floor: 'does not grow with the value',
    });
  }
  return out;
}

function peers(j: J): Headline[] {
  const rows = arr(j.rows);
  const cs = rows.map((r) => num(r.concurrency) ?? 0);
  const top = cs.length ? Math.max(...cs) : 0;
  const at = (id: string): number | undefined => num(rows.find((r) => r.id === id && r.concurrency === top)?.idsPerSec);
  const out: Headline[] = [];
  const vs = (mine: string, myLabel: string, id: string, what: string): void => {
    const ph = at(mine);
    const other = at(id);
    if (ph !== undefined && other) {
      out.push({ bench: 'peers', measure: `${myLabel} vs ${what}, ${top} callers, both crash-safe`, value: `${(ph / other).toFixed(1)}× (${si(ph)} vs ${si(other)} IDs/s)` });
    }
  };
  vs('pharaoh-next', 'Pharaoh `next()`', 'redis-incr-always', 'Redis INCR (fsync always)');
  vs('pharaoh-next', 'Pharaoh `next()`', 'pg-insert', 'PostgreSQL INSERT … RETURNING');
  vs('pharaoh-range', 'Pharaoh `range(100)`', 'redis-incrby-always', 'Redis INCRBY 100 (fsync always)');
  return out;
}

function fleet(j: J): Headline[] {
  const row = arr(j.rows).find((r) => num(r.shards) === 1024);
  const restart = num(row?.restartMs);
  const base = num(j.baselineMs);
  if (restart === undefined) return [];
  const vsBase = base ? ` (${(restart / base).toFixed(1)}× a bare process start)` : '';
  return [{ bench: 'fleet', measure: '1024-shard process ready after SIGKILL restart', value: `${Math.round(restart)} ms${vsBase}` }];
}

const EXTRACTORS: Record<string, (j: J) => Headline[]> = { obelisk, snowflake, journal, tso, client, scale, fleet, peers };

export function headlinesFor(bench: string, json: unknown): Headline[] {
  const f = EXTRACTORS[bench];
  if (!f) return [];
  try {
    return f(obj(json));
  } catch {
    return [];
  }
}
