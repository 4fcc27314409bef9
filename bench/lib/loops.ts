/**
 * The measuring loop the file-level benchmarks share: `callers` concurrent
 * loops that await `op` back to back until the time is up, recording each
 * call's latency. Results accumulate, so a case can be measured in slices
 * interleaved with its baseline.
 */
import { performance } from 'node:perf_hooks';

export interface LoopTally {
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

export async function timeLoops(r: LoopTally, callers: number, ms: number, op: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const end = start + ms;
  const loop = async (): Promise<void> => {
    for (let t = performance.now(); t < end; ) {
      await op();
      const now = performance.now();
      r.latenciesMs.push(now - t);
      t = now;
      r.ops++;
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  r.seconds += (performance.now() - start) / 1000;
}
