import { describe, expect, it } from 'vitest';
import { IdBook, IntervalSet, VIOLATION_KINDS, zeroCounters, type ViolationKind } from '../src/history.js';
import { createModel, MODELLED_SERVICES } from '../src/models.js';
import { SERVICES } from '../src/server.js';
import { REGISTRY } from '@pharaoh/registry';
import { mulberry32 } from '@pharaoh/testkit';
import { makeSchedule } from '../src/run.js';
import { keysForShards } from '../src/util.js';
import { shardForKey } from '@pharaoh/protocol';

describe('IntervalSet', () => {
  it('merges adjacent ranges and tells overlaps apart from neighbours', () => {
    const s = new IntervalSet();
    expect(s.add(10n, 19n)).toBe(true);
    expect(s.add(20n, 29n)).toBe(true); // adjacent: merged
    expect(s.size).toBe(1);
    expect(s.add(40n, 40n)).toBe(true);
    expect(s.size).toBe(2);
    expect(s.add(29n, 30n)).toBe(false); // 29 was in
    expect(s.add(0n, 5n)).toBe(true);
    expect(s.overlap(6n, 9n)).toBeUndefined();
    expect(s.overlap(6n, 10n)).toEqual({ lo: 10n, hi: 30n });
    expect(s.add(31n, 39n)).toBe(true); // fills the gap: one interval 10..40
    expect(s.size).toBe(2);
    expect(s.max()).toBe(40n);
  });
});

describe('IdBook', () => {
  function book() {
    const counters = zeroCounters();
    const seen: ViolationKind[] = [];
    return { counters, seen, b: new IdBook(counters), report: (k: ViolationKind) => void seen.push(k) };
  }

  it('flags a range at or below the floor taken when its call was sent, and overlaps', () => {
    const { b, seen, report, counters } = book();
    b.addRange(3, 100n, 10, b.floor(3), report, 't');
    expect(b.floor(3)).toBe(109n);
    b.addRange(3, 110n, 5, b.floor(3), report, 't');
    expect(seen).toEqual([]);
    b.addRange(3, 114n, 1, 109n, report, 't'); // above the floor, but handed out before
    expect(seen).toEqual(['duplicate']);
    b.addRange(3, 200n, 1, 250n, report, 't');
    expect(seen).toEqual(['duplicate', 'order']);
    expect(counters.ids).toBe(17);
  });

  it('lets one owner be answered its ID again, but nobody else', () => {
    const { b, seen, report } = book();
    b.addOwned(1, 500n, 'commitTs of tx 1', -1n, report, 't');
    b.addOwned(1, 500n, 'commitTs of tx 1', undefined, report, 't');
    expect(seen).toEqual([]);
    b.addOwned(1, 500n, 'txId of begin #2', undefined, report, 't');
    expect(seen).toEqual(['duplicate']);
    b.addOwned(1, 400n, 'txId of begin #3', b.floor(1), report, 't');
    expect(seen).toEqual(['duplicate', 'order']);
  });
});

describe('schedule', () => {
  const base = { cuts: 12, services: ['tso', 'txcoord', 'session-mgr'] as const, chainRatio: 0.4, loadMs: [200, 1000] as [number, number], serveAfterKillMs: [50, 500] as [number, number] };

  it('is the same for the same seed, spreads cuts evenly and gives every service a kill-then-cut', () => {
    for (let seed = 0; seed < 50; seed++) {
      const a = makeSchedule({ ...base, services: [...base.services], seed });
      expect(makeSchedule({ ...base, services: [...base.services], seed })).toEqual(a);
      for (const s of base.services) {
        const mine = a.filter((c) => c.service === s);
        expect(mine.length).toBe(4);
        expect(mine.some((c) => c.kind === 'kill-then-cut')).toBe(true);
        expect(mine.map((c) => c.n)).toEqual([1, 2, 3, 4]);
      }
      for (const c of a) {
        expect(c.loadMs).toBeGreaterThanOrEqual(200);
        expect(c.loadMs).toBeLessThanOrEqual(1000);
        if (c.kind === 'cut') expect(c.serveMs).toBe(0);
      }
    }
  });
});

describe('keysForShards', () => {
  it('finds keys that land on exactly the wanted shards', () => {
    const keys = keysForShards([0, 1, 2, 7], 'k-', 2);
    for (const [shard, list] of keys) {
      expect(list).toHaveLength(2);
      for (const k of list) expect(shardForKey(k)).toBe(shard);
    }
  });
});

describe('models', () => {
  it('cover every service of the registry, and the plug-in services name their checks as violation kinds', () => {
    const names = REGISTRY.services.map((s) => s.name);
    expect([...SERVICES].sort()).toEqual([...names].sort());
    expect([...MODELLED_SERVICES].sort()).toEqual([...names].sort());
    for (const service of names) {
      const m = createModel(service, { shards: [0, 1], rnd: mulberry32(1), report: () => undefined, counters: zeroCounters(), sampleOld: 10 });
      expect(typeof m.load).toBe('function');
    }
    for (const k of ['group-generation', 'group-fenced', 'group-commit-lost', 'schema-same', 'schema-id', 'schema-version', 'schema-lost', 'offsets-reissued', 'offsets-gap', 'cdc-table-order']) expect(k in VIOLATION_KINDS).toBe(true);
  });
});
