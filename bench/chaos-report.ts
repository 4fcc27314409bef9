/**
 * `npm run bench:chaos -- [--minutes m | --seconds s] [--workers n] [--procs n] [--seed n]`
 * (not a `*.bench.ts`: `npm run bench` does not run the crash test):
 * the cross-shard crash test of `pharaoh chaos`, whose result is written into
 * docs/BENCHMARKS.md (section "chaos") and bench/results/chaos.json. Exit 1 on any violation.
 */
import { parseArgs } from 'node:util';
import { chaosOptions, formatSummary, runChaos, summaryMarkdown } from '@pharaoh/cli';
import { describeMachine, machineLine, writeSection } from './lib/report.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    workers: { type: 'string' },
    procs: { type: 'string' },
    seed: { type: 'string' },
  },
});
const num = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a non-negative number: ${v}`);
  return n;
};
const summary = await runChaos(
  chaosOptions({ minutes: num(values.minutes), seconds: num(values.seconds), workers: num(values.workers), procs: num(values.procs), seed: num(values.seed) }),
);
process.stdout.write(formatSummary(summary) + '\n');
writeSection('chaos', summaryMarkdown(summary, machineLine(describeMachine())), summary);
process.exitCode = summary.violations.length === 0 ? 0 : 1;
