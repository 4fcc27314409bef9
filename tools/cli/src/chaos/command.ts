/**
 * `pharaoh chaos` / `npm run chaos`: run the crash test, print the summary,
 * exit 1 on any violation. (`npm run bench:chaos` runs the same and writes
 * the result into docs/BENCHMARKS.md: the report belongs to bench/, which
 * the CLI does not import.)
 */
import { formatSummary } from './summary.js';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from './run.js';
import type { ChaosOptions } from './run.js';

/** The crash test's options from the command's flags (`--minutes`, `--seconds`, `--workers`, `--procs`, `--seed`, `--dir`, `--keep`, `--no-moves`, `--no-restores`). */
export function chaosOptions(o: Record<string, unknown>): ChaosOptions {
  const opts: ChaosOptions = { ...DEFAULT_CHAOS_OPTIONS };
  const long = typeof o.minutes === 'number' || (typeof o.seconds === 'number' && o.seconds > 120);
  if (typeof o.minutes === 'number') opts.durationMs = Math.round(o.minutes * 60_000);
  if (typeof o.seconds === 'number') opts.durationMs = Math.round(o.seconds * 1000);
  if (long) {
    // A soak exercises the full shard space and more processes.
    opts.shardsPerService = 1024;
    opts.procsPerService = 3;
    opts.workers = 4;
  }
  if (typeof o.workers === 'number') opts.workers = o.workers;
  if (typeof o.procs === 'number') opts.procsPerService = o.procs;
  if (typeof o.seed === 'number') opts.seed = o.seed;
  else opts.seed = Date.now() % 1_000_000;
  if (typeof o.dir === 'string') opts.dir = o.dir;
  if (o.keep === true) opts.keep = true;
  // commander's --no-moves / --no-restores set these to false.
  if (o.moves === false) opts.moves = false;
  if (o.restores === false) opts.restores = false;
  return opts;
}

export async function runChaosCommand(o: Record<string, unknown>): Promise<number> {
  const summary = await runChaos(chaosOptions(o));
  process.stdout.write(formatSummary(summary) + '\n');
  return summary.violations.length === 0 ? 0 : 1;
}
