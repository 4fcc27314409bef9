/**
 * Seeded crash exploration: run a scenario over many schedules, each a chain
 * of faults (process deaths and power losses in some order) on a fresh
 * SimulatedFs, and report the first schedule that breaks an invariant with the
 * seed that replays it.
 */
import { mulberry32 } from './random.js';
import { SimulatedFs, type CrashKind, type SimulatedFsOptions } from './simulated-fs.js';

export interface Schedule {
  seed: number;
  fs: SimulatedFs;
  /** The schedule's own PRNG (separate from the disk's), for workload choices. */
  rng: () => number;
  /**
   * The faults of this schedule, in order; each ends one process lifetime. The
   * patterns cycle so every chain is covered: power; process; process → power;
   * process → process → power; power → process → power; then random chains.
   */
  chain: CrashKind[];
  /** A random operation count in 1..max, for `fs.crashAfterOps`. */
  crashPoint(max: number): number;
}

export interface ExploreOptions {
  /** How many schedules (seeds firstSeed .. firstSeed + schedules - 1). `PHARAOH_CRASH_SCHEDULES` overrides it. */
  schedules: number;
  firstSeed?: number;
  /** Options of each schedule's SimulatedFs (its seed is the schedule's). */
  fs?: Omit<SimulatedFsOptions, 'seed'>;
  /** Runs one schedule; throws (with a message naming the invariant) if it is broken. */
  run(s: Schedule): Promise<void>;
}

export interface ExploreReport {
  schedules: number;
  processDeaths: number;
  powerLosses: number;
}

const FIXED_CHAINS: CrashKind[][] = [['power'], ['process'], ['process', 'power'], ['process', 'process', 'power'], ['power', 'process', 'power']];

/** The chain of faults of schedule `seed`. */
export function chainOf(seed: number, rng: () => number): CrashKind[] {
  const fixed = FIXED_CHAINS[seed % (FIXED_CHAINS.length + 1)];
  if (fixed !== undefined) return fixed;
  return Array.from({ length: 1 + Math.floor(rng() * 4) }, () => (rng() < 0.5 ? 'process' : 'power'));
}

/**
 * Run `o.run` over the schedules. `PHARAOH_CRASH_SEED=N` runs only schedule N
 * (to replay a failure). Throws on the first broken schedule, naming its seed
 * and chain.
 */
export async function exploreSchedules(o: ExploreOptions): Promise<ExploreReport> {
  const only = process.env['PHARAOH_CRASH_SEED'];
  const count = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? o.schedules);
  const first = o.firstSeed ?? 1;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => first + i);
  const report: ExploreReport = { schedules: 0, processDeaths: 0, powerLosses: 0 };
  for (const seed of seeds) {
    const rng = mulberry32(seed ^ 0x5eed);
    const fs = new SimulatedFs({ ...o.fs, seed });
    const chain = chainOf(seed, rng);
    try {
      await o.run({ seed, fs, rng, chain, crashPoint: (max) => 1 + Math.floor(rng() * Math.max(1, max)) });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`schedule seed ${seed} (chain ${chain.join(' → ')}) broke an invariant: ${msg}\n  replay: PHARAOH_CRASH_SEED=${seed}`, { cause: err });
    }
    report.schedules++;
    report.processDeaths += fs.stats.processDeaths;
    report.powerLosses += fs.stats.powerLosses;
  }
  return report;
}
