/**
 * The short power-cut run CI makes: 18 real power cuts (ext4 on loop devices,
 * block image copied at the cut), 3 for each of tso, txcoord, session-mgr,
 * group-coord, schema-registry and sequencer (one lane per service, in
 * parallel), kill-then-cut chains among them; every acknowledged ID,
 * decision, epoch, generation, committed offset, schema and offset range must
 * survive. Fault model: process death (SIGKILL, page cache kept) and power
 * loss (only what reached the device), alone and chained. Checked: nothing
 * issued twice, per shard strictly increasing, nothing acknowledged lost,
 * fenced stays fenced. Needs root and loop devices: skipped (saying why)
 * otherwise.
 * POWERCUT_SEED=<n> replays a seed (each run prints its own).
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, runPowercut, unavailableReason } from '../src/index.js';

const reason = unavailableReason();
if (reason !== undefined) console.log(`powercut integration test SKIPPED: ${reason}. Run it as root on Linux with losetup, mkfs.ext4 and loop devices.`);

const CUTS = 18;

describe.skipIf(reason !== undefined)('real power cuts on ext4 over loop devices', () => {
  it(
    `survives ${CUTS} power cuts across the six services, kill-then-cut chains included, with nothing acknowledged lost`,
    async () => {
      const seed = process.env.POWERCUT_SEED !== undefined ? Number(process.env.POWERCUT_SEED) : Math.floor(Math.random() * 2 ** 31);
      const result = await runPowercut({
        cuts: CUTS,
        seed,
        loadMs: [200, 1000],
        serveAfterKillMs: [50, 500],
        maxMs: 240_000,
        log: (line) => console.log(line),
      });
      const summary = formatSummary(result);
      console.log(summary);
      expect(result.harnessErrors, summary).toEqual([]);
      expect(result.cleanupProblems, summary).toEqual([]);
      expect(result.violations, summary).toEqual([]);
      expect(result.cuts.length, summary).toBe(CUTS);
      for (const s of result.services) expect(s.cuts, `${s.service} cut too rarely\n${summary}`).toBeGreaterThanOrEqual(3);
      expect(result.cuts.filter((c) => c.kind === 'kill-then-cut').length, summary).toBeGreaterThanOrEqual(3);
      const by = Object.fromEntries(result.services.map((s) => [s.service, s.checked]));
      expect(by['tso']!.crossIds, summary).toBeGreaterThan(0);
      expect(by['txcoord']!.decisions, summary).toBeGreaterThan(0);
      expect(by['txcoord']!.crossIds, summary).toBeGreaterThan(0);
      expect(by['session-mgr']!.epochs, summary).toBeGreaterThan(0);
      expect(by['group-coord']!.epochs, summary).toBeGreaterThan(0);
      expect(by['group-coord']!.facts, summary).toBeGreaterThan(0);
      expect(by['schema-registry']!.crossIds, summary).toBeGreaterThan(0);
      expect(by['schema-registry']!.facts, summary).toBeGreaterThan(0);
      expect(by['sequencer']!.crossIds, summary).toBeGreaterThan(0);
      expect(by['sequencer']!.facts, summary).toBeGreaterThan(0);
      expect(result.totals.ids, summary).toBeGreaterThan(0);
    },
    300_000,
  );
});
