/**
 * The short multi-host run CI makes: the fleet on 3 server hosts (network
 * namespaces, TLS and tokens), clients on 2 more, and every scenario —
 * partition, asymmetric partition, host loss and replacement, two owners, slow
 * network — with shorter phases than `npm run hosts`. 0 violations, and each
 * scenario must have measured what it claims. Needs root and `ip netns`:
 * skipped (saying why) otherwise.
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, opensslAvailable, runHosts, SCENARIOS, unavailableReason } from '../src/index.js';

const reason = unavailableReason() ?? (opensslAvailable() ? undefined : 'openssl is missing');
if (reason !== undefined) console.log(`hosts integration test SKIPPED: ${reason}. Run it as root on Linux with iproute2 (ip netns, veth, bridge) and openssl.`);

describe.skipIf(reason !== undefined)('the fleet across network namespaces', () => {
  it(
    'keeps every ID unique and monotonic and every commit through partitions, a lost host, two owners and a slow network',
    async () => {
      const result = await runHosts({
        // Shorter than `npm run hosts` (client defaults, 8 s partitions) to fit CI's 3 minutes.
        timeoutMs: 2_000,
        connectTimeoutMs: 2_000,
        partitionMs: 3_000,
        slowPhaseMs: 4_000,
        warmupMs: 1_000,
        recoverMs: 15_000,
        maxMs: 165_000,
        log: (line) => console.log(line),
      });
      const summary = formatSummary(result);
      console.log(summary);
      expect(result.harnessErrors, summary).toEqual([]);
      expect(result.cleanupProblems, summary).toEqual([]);
      expect(result.violations, summary).toEqual([]);
      expect(result.scenarios.map((s) => s.name), summary).toEqual([...SCENARIOS]);
      // The run really exercised the fleet: IDs checked, commits read back, and callers did meet the faults.
      expect(result.totals.ids, summary).toBeGreaterThan(1_000);
      expect(result.commitsChecked, summary).toBeGreaterThan(100);
      expect(result.totals.errors, summary).toBeGreaterThan(0);
      for (const s of result.scenarios) expect(s.lines.length, `${s.name} measured nothing\n${summary}`).toBeGreaterThan(0);
    },
    180_000,
  );
});
