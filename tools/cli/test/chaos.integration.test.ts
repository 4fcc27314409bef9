import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from '../src/chaos/run.js';
import { formatSummary } from '../src/chaos/summary.js';

describe('cross-shard crash test (CI version)', () => {
  it('keeps every ID unique and increasing, and every decision and epoch, through random SIGKILLs of server processes, online shard moves and restores', async () => {
    const lines: string[] = [];
    const summary = await runChaos({ ...DEFAULT_CHAOS_OPTIONS, seed: 20261126, log: (l) => lines.push(l) });
    const report = `${lines.join('\n')}\n${formatSummary(summary)}`;
    // Keep the last report next to the test results: a failure on CI can be read afterwards.
    const out = fileURLToPath(new URL('../.vitest/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'chaos-last.txt'), report + '\n');
    expect(summary.violations, report).toEqual([]);
    // The run must have actually exercised crashes under load, or passing means nothing.
    expect(summary.kills, report).toBeGreaterThanOrEqual(DEFAULT_CHAOS_OPTIONS.procsPerService * 3 + 3);
    expect(summary.stats.tsIds, report).toBeGreaterThan(100);
    expect(summary.stats.crossRestartChecks, report).toBeGreaterThan(0);
    expect(summary.stats.orderedPairs, report).toBeGreaterThan(100);
    expect(summary.stats.decisionsChecked, report).toBeGreaterThan(10);
    expect(summary.stats.epochsChecked, report).toBeGreaterThan(10);
    expect(summary.stats.services['sequencer']?.['offset ranges checked'], report).toBeGreaterThan(10);
    expect(summary.stats.services['sequencer']?.['cdc ranges checked'], report).toBeGreaterThan(10);
    // Moves and restores (on by default) must have happened too.
    expect(summary.moves, report).toBeGreaterThanOrEqual(1);
    expect(summary.restores, report).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
