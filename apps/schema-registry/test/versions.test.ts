/**
 * Versions after a restore (src/versions.ts): a version number handed out
 * before the loss never comes to mean another schema. Fault model: the loss
 * of a shard's disk and `pharaoh restore` from an older backup (the
 * restore mark the server hands the table), possibly repeated.
 */
import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { mulberry32 } from '@pharaoh/testkit';
import { MAX_VERSION_LEAD_S, MAX_VERSIONS_LIMIT, SubjectVersions, versionFloorAfter } from '../src/versions.js';
import { subjectsFor, T0, world } from './helpers.js';

const SHARD = shardForKey('payments-value');
const [S1, S2] = subjectsFor(SHARD, 2, 'payments') as [string, string];
const secOf = (ms: number) => Math.floor((ms - SCHEMA_LAYOUT.epochMs) / 1000);
const mark = (restoredAt: number) => ({ restoredAt, issuedBeforeMs: restoredAt + 10_000 });

describe('SubjectVersions', () => {
  it('counts 1, 2, 3 on a shard never restored', () => {
    const v = new SubjectVersions(SCHEMA_LAYOUT, { now: () => T0 }, undefined);
    expect([v.next(0), v.next(1), v.next(41)]).toEqual([1, 2, 42]);
    expect(v.floor).toBe(0);
  });

  it('puts a restored shard floor above the restore instant plus the lead, and above the version limit', () => {
    expect(versionFloorAfter(SCHEMA_LAYOUT, { restoredAt: T0 })).toBe(secOf(T0) + MAX_VERSION_LEAD_S + 1);
    expect(versionFloorAfter(SCHEMA_LAYOUT, { restoredAt: SCHEMA_LAYOUT.epochMs })).toBe(MAX_VERSIONS_LIMIT + 1);
  });

  it('after a restore starts every subject at the floor and lets versions run at most the lead ahead of the clock', () => {
    let now = T0;
    const v = new SubjectVersions(SCHEMA_LAYOUT, { now: () => now }, mark(T0));
    const floor = v.floor;
    expect(v.next(0)).toBe(floor);
    expect(v.next(7)).toBe(floor);
    // floor + 1 is the restore instant + lead + 2: two seconds later.
    expect(v.next(floor)).toBeUndefined();
    now += 2_000;
    expect(v.next(floor)).toBe(floor + 1);
  });

  it('never hands out after a later restore a version handed out since an earlier one (restores ≥ 1 s apart)', () => {
    const rng = mulberry32(7);
    for (let round = 0; round < 100; round++) {
      const r1 = T0 + Math.floor(rng() * 1e9);
      let now = r1;
      const v = new SubjectVersions(SCHEMA_LAYOUT, { now: () => now }, mark(r1));
      let latest = Math.floor(rng() * MAX_VERSIONS_LIMIT);
      let highest = 0;
      // The lost process registers as fast as it is let through (more than the lead's worth), the clock creeping on.
      for (let i = 0; i < 2 * MAX_VERSION_LEAD_S; i++) {
        const next = v.next(latest);
        if (next !== undefined) highest = latest = next;
        now += Math.floor(rng() * (rng() < 0.01 ? 5_000 : 20));
      }
      const r2 = Math.max(now, r1 + 1_000);
      expect(highest).toBeLessThan(versionFloorAfter(SCHEMA_LAYOUT, { restoredAt: r2 }));
    }
  });
});

describe('SchemaTable on a restored shard', () => {
  it('keeps the backup versions and ids, gives new versions from the floor, and says why a lost id is missing', async () => {
    const w = world(SHARD);
    const t = await w.open();
    const v1 = await t.register(S1, '{"v":1}', 'JSON');
    const v2 = await t.register(S1, '{"v":2}', 'JSON');
    await t.close();
    // The disk now holds the backup; a version 3 registered after it was lost. The shard is restored a minute later.
    const lostId = v2.schemaId + 1_000n;
    w.clock.advance(60_000);
    const restoredAt = w.clock.now();
    const r = await w.open({ restored: mark(restoredAt) });
    expect(r.versionFloor).toBe(secOf(restoredAt) + MAX_VERSION_LEAD_S + 1);
    expect(await r.register(S1, '{"v":1}', 'JSON')).toEqual(v1);
    expect(await r.register(S1, '{ "v" : 2 }', 'JSON')).toEqual(v2);
    const v3 = await r.register(S1, '{"v":"three"}', 'JSON');
    expect(v3.version).toBe(r.versionFloor);
    // A subject unknown to the backup (it may have existed after it) starts at the floor too.
    expect((await r.register(S2, '{}', 'JSON')).version).toBe(r.versionFloor);
    expect(r.versions(S1).versions.map((x) => x.version)).toEqual([1, 2, r.versionFloor]);
    const err = (() => {
      try {
        r.get(lostId);
      } catch (e) {
        return e as Error & { code: string };
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
    expect(err?.message).toMatch(/restored from a backup/);
    // Right after the restore a second new version must wait for the clock (OVERLOADED); two seconds later it passes.
    expect(await r.register(S1, '{"v":4}', 'JSON').catch((e: { code: string }) => e.code)).toBe('OVERLOADED');
    w.clock.advance(2_000);
    expect((await r.register(S1, '{"v":4}', 'JSON')).version).toBe(r.versionFloor + 1);
  });
});
