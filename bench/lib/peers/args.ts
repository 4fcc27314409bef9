/** Command-line flags shared by bench/peers.bench.ts and bench/scale.bench.ts. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  concurrency: number[];
  only: Set<string> | undefined;
}

export function parseBenchArgs(defaults: { concurrency: number[]; quickConcurrency: number[]; durationMs: number }): BenchArgs {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      only: { type: 'string' },
    },
    allowPositionals: false,
  });
  const quick = values.quick ?? false;
  const durationMs = values.duration !== undefined ? Number(values.duration) : quick ? 300 : defaults.durationMs;
  if (!Number.isFinite(durationMs) || durationMs <= 0) throw new Error(`--duration must be a positive number of ms, got ${values.duration}`);
  const concurrency = values.concurrency
    ? values.concurrency.split(',').map((s) => Number(s))
    : quick
      ? defaults.quickConcurrency
      : defaults.concurrency;
  if (concurrency.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new Error(`--concurrency must be positive integers, got ${values.concurrency}`);
  return {
    quick,
    durationMs,
    warmupMs: quick ? 100 : Math.min(1000, Math.round(durationMs / 4)),
    concurrency,
    only: values.only ? new Set(values.only.split(',')) : undefined,
  };
}

/** "12.3 µs" / "4.56 ms" */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return '–';
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 10_000 ? 1 : 2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

/** "Load average at start: 1.23." plus a warning when the machine was busy with other work. */
export function loadNote(load1: number, cores: number): string {
  const busy = load1 > cores * 0.75 ? ' **The machine was busy with other work during this run (load above its core count): treat the numbers as a lower bound and re-run on a quiet machine.**' : '';
  return `Load average (1 min) at start: ${load1.toFixed(2)} on ${cores} cores.${busy}`;
}
