/**
 * The measuring loop the file-level benchmarks share: `callers` concurrent
 * loops that await `op` back to back until the time is up, recording the
 * latency of one call in TIME_ONE_IN (every loop's; the others are counted).
 * Results accumulate, so a case can be measured in slices interleaved with its
 * baseline.
 */
import { percentile } from './report.js';
import { LatencyHistogram } from './latency.js';
import { performance } from 'node:perf_hooks';

export interface LoopTally {
  ops: number;
  seconds: number;
  /**
   * Every call's latency, in a histogram rather than an array: at a million
   * calls per second an array of samples grows by tens of MB per case, and
   * its pushes, copies and collections were charged to the code measured
   * (256 callers of Obelisk pay them 256 times per fdatasync, its raw baseline once).
   */
  latency: LatencyHistogram;
}

/**
 * Each loop times one call in this many (two clock reads) and checks the time
 * only then: a clock read per call cost Obelisk's 256-caller round ~10 µs of
 * its ~300 (one `performance.now()` is ~40 ns on this VM, 256 of them per
 * fdatasync), the raw baseline one read per round.
 */
const TIME_ONE_IN = 8;

export async function timeLoops(r: LoopTally, callers: number, ms: number, op: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const end = start + ms;
  const loop = async (): Promise<void> => {
    for (let t = performance.now(); t < end; ) {
      await op();
      const now = performance.now();
      r.latency.record((now - t) * 1000);
      for (let k = 1; k < TIME_ONE_IN; k++) await op();
      r.ops += TIME_ONE_IN;
      t = performance.now();
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  r.seconds += (performance.now() - start) / 1000;
}

/** Throughput and latency of one measured case (see measureCalls). */
export interface CallsResult {
  ops: number;
  seconds: number;
  perSecond: number;
  p50us: number;
  p99us: number;
}

/** A bound on any one loop's calls, so no loop runs unbounded whatever the clock does. */
const MAX_CALLS_PER_LOOP = 10_000_000;

/**
 * `callers` loops calling `op(caller, i)` back to back, first for
 * `warmupSeconds` (discarded), then for `seconds`: one latency sample per call.
 */
export async function measureCalls(callers: number, warmupSeconds: number, seconds: number, op: (caller: number, i: number) => Promise<unknown>): Promise<CallsResult> {
  const run = async (secs: number): Promise<CallsResult> => {
    const lat: number[] = [];
    const start = performance.now();
    const end = start + secs * 1000;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let i = 0; performance.now() < end && i < MAX_CALLS_PER_LOOP; i++) {
          const t = performance.now();
          await op(c, i);
          lat.push((performance.now() - t) * 1000);
        }
      }),
    );
    const took = (performance.now() - start) / 1000;
    return { ops: lat.length, seconds: took, perSecond: lat.length / took, p50us: percentile(lat, 50), p99us: percentile(lat, 99) };
  };
  await run(warmupSeconds);
  return run(seconds);
}
