/**
 * Closed-loop load generator used for every system in the peer and scale
 * benchmarks, so they are measured the same way: `concurrency` callers, each
 * with exactly one request outstanding, for a fixed time after a warm-up.
 * Latency is per call (request issued → answer received), in a HDR histogram.
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** One call; resolves to the number of IDs it obtained. */
  op: () => Promise<number>;
}

export interface LoadResult {
  concurrency: number;
  seconds: number;
  calls: number;
  ids: number;
  callsPerSec: number;
  idsPerSec: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  errors: number;
  firstError?: string;
}

// Stop a phase early if every call fails, instead of spinning for the whole duration.
const MAX_ERRORS = 1000;

interface Phase {
  calls: number;
  ids: number;
  errors: number;
  firstError?: string;
}

async function runPhase(o: LoadOptions, ms: number, hist: hdr.Histogram | undefined): Promise<Phase> {
  const phase: Phase = { calls: 0, ids: 0, errors: 0 };
  const deadline = performance.now() + ms;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline && phase.errors < MAX_ERRORS) {
      const t0 = performance.now();
      try {
        const n = await o.op();
        const t1 = performance.now();
        phase.calls++;
        phase.ids += n;
        hist?.recordValue(Math.max(1, Math.round((t1 - t0) * 1e6)));
      } catch (err) {
        phase.errors++;
        phase.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, caller));
  return phase;
}

/** Warm up, then measure `concurrency` closed-loop callers for `durationMs`. */
export async function closedLoop(o: LoadOptions): Promise<LoadResult> {
  if (o.warmupMs > 0) await runPhase(o, o.warmupMs, undefined);
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120e9, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const t0 = performance.now();
  const p = await runPhase(o, o.durationMs, hist);
  const seconds = (performance.now() - t0) / 1000;
  const us = (q: number): number => (p.calls > 0 ? hist.getValueAtPercentile(q) / 1000 : NaN);
  const result: LoadResult = {
    concurrency: o.concurrency,
    seconds,
    calls: p.calls,
    ids: p.ids,
    callsPerSec: p.calls / seconds,
    idsPerSec: p.ids / seconds,
    p50Us: us(50),
    p99Us: us(99),
    p999Us: us(99.9),
    errors: p.errors,
  };
  if (p.firstError !== undefined) result.firstError = p.firstError;
  hist.destroy();
  return result;
}
