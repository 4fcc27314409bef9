import { runChaos, DEFAULT_CHAOS_OPTIONS } from './src/chaos/run.ts';
import { formatSummary } from './src/chaos/summary.ts';
const s = await runChaos({ ...DEFAULT_CHAOS_OPTIONS, durationMs: 10_000, killGapMs: [60_000, 60_000], shardsPerService: 64, keep: true });
console.log(formatSummary(s));
