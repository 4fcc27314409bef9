/** Reading a window of a worker's calls: gaps, first success, errors by code, latencies. */
import type { CallEvent, WorkerEvent } from './events.js';
import { SHARDS_PER_POD } from './fleet.js';

export const now = (): number => performance.timeOrigin + performance.now();

export function callsOf(events: readonly WorkerEvent[], loop?: string | ((l: string) => boolean)): CallEvent[] {
  const match = typeof loop === 'string' ? (l: string) => l === loop : loop;
  return events.filter((e): e is CallEvent => e.e === 'call' && (match === undefined || match(e.l)));
}

/** Calls that ended inside [from, to]. */
export function endedIn(calls: readonly CallEvent[], from: number, to: number): CallEvent[] {
  return calls.filter((c) => c.t1 >= from && c.t1 <= to);
}

/** Error codes and their counts, e.g. `TIMEOUT×4`. */
export function errorCodes(calls: readonly CallEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) if (!c.ok) out[c.code ?? '?'] = (out[c.code ?? '?'] ?? 0) + 1;
  return out;
}

export function fmtCodes(codes: Record<string, number>): string {
  const parts = Object.entries(codes).map(([k, v]) => `${k}×${v}`);
  return parts.length === 0 ? 'none' : parts.join(' ');
}

/**
 * The longest time, within [from, to], that `calls` went without a success:
 * measured between successive successful answers (t1), the first gap starting
 * at `from`. This is what a caller of that loop felt as the outage.
 */
export function longestGap(calls: readonly CallEvent[], from: number, to: number): number {
  let last = from;
  let gap = 0;
  for (const c of calls.filter((x) => x.ok && x.t1 >= from && x.t1 <= to).sort((a, b) => a.t1 - b.t1)) {
    gap = Math.max(gap, c.t1 - last);
    last = c.t1;
  }
  return Math.max(gap, to - last);
}

/**
 * The first successful answer after `from` (a call may have started before and
 * waited within its deadline: its answer is the recovery the caller felt), if any.
 */
export function firstSuccessAfter(calls: readonly CallEvent[], from: number): CallEvent | undefined {
  return calls.filter((c) => c.ok && c.t1 > from).sort((a, b) => a.t1 - b.t1)[0];
}

/** The pod ordinal whose range holds `shard`. */
export function ordinalOfShard(shard: number): number {
  return Math.floor(shard / SHARDS_PER_POD);
}

/** The ordinal of the server host a client's keyless tso calls went to last, if any succeeded. */
export function keylessHome(events: readonly WorkerEvent[]): number | undefined {
  const free = callsOf(events, 'free').filter((c) => c.ok);
  const last = free[free.length - 1];
  return last === undefined ? undefined : ordinalOfShard(Number(last.shard));
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)} ms` : '—');
