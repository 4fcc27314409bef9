/**
 * The epoch rule (src/epochs.ts) through the SessionTable: time-based epochs
 * with a bounded lead, and a restored shard fencing every epoch it may have
 * lost (docs/DESIGN.md §9).
 */
import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, SimDisk, codeOf } from '@pharaoh/testkit';
import { MAX_EPOCH_LEAD_S, epochFloorAfter, secondsSince, type EpochRestore } from '../src/epochs.js';
import { SessionTable } from '../src/session-table.js';
import type { SessionTableOptions } from '../src/options.js';
import type { SessionRecord } from '../src/records.js';
import { namesFor, secOf } from './helpers.js';

const T0 = Date.UTC(2026, 5, 1);
const SHARD = shardForKey('epochs-test');
const OPTS: SessionTableOptions = { defaultTimeoutMs: 60_000, retentionMs: 86_400_000, maxSessions: 100, maxEnded: 1_000 };
const [P1, P2, P3] = namesFor(SHARD, 3, 'epochs') as [string, string, string];
/** Where SimDisk keeps the shard's journal log. */
const LOG = '/data/shard/journal/journal.log';

function world() {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(SESSION_LAYOUT, SHARD, clock);
  const disk = new SimDisk();
  const open = (restored?: EpochRestore) =>
    SessionTable.open({ shard: SHARD, ids, clock, layout: SESSION_LAYOUT, restored, openJournal: (hooks) => disk.open<SessionRecord>(hooks) }, OPTS);
  return { clock, ids, disk, open };
}

const messageOf = (p: Promise<unknown>): Promise<string> => p.then(() => '', (e: unknown) => (e as Error).message);

describe('session epochs: seconds-based with a bounded lead', () => {
  it('gives reopens increasing epochs that follow the clock in seconds since the layout epoch', async () => {
    const { open, clock } = world();
    const t = await open();
    const first = await t.openSession(P1);
    expect(first.epoch).toBe(0); // a new session: its sessionId is a fresh time-based ID
    const seen = [first.epoch];
    for (const stepMs of [0, 250, 1_000, 1_000, 0, 0, 42_000, 3_600_000]) {
      clock.advance(stepMs);
      const r = await t.openSession(P1);
      expect(r.sessionId).toBe(first.sessionId);
      expect(r.epoch).toBe(Math.max(seen[seen.length - 1]! + 1, secondsSince(SESSION_LAYOUT, clock.now())));
      seen.push(r.epoch);
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen[seen.length - 1]).toBe(secOf(clock)); // an hour later the clock leads again
    for (const e of seen.slice(0, -1)) expect(await t.validate(first.sessionId, e)).toBe('FENCED');
    expect(await t.validate(first.sessionId, seen[seen.length - 1]!)).toBe('OK');
  });

  it('refuses a burst of reopens past the lead with OVERLOADED, journals nothing, and lets the producer in again as the clock moves', async () => {
    const { open, clock, disk } = world();
    const t = await open();
    const first = await t.openSession(P1);
    const now = secOf(clock);
    // The clock stands still: reopen k borrows second now + k, up to the lead.
    const burst = await Promise.all(Array.from({ length: MAX_EPOCH_LEAD_S + 1 }, () => t.openSession(P1)));
    const epochs = burst.map((r) => r.epoch).sort((a, b) => a - b);
    expect(epochs[0]).toBe(now);
    expect(epochs[epochs.length - 1]).toBe(now + MAX_EPOCH_LEAD_S);
    expect(new Set(epochs).size).toBe(epochs.length);

    const appends = disk.current.stats.appends;
    const refused = t.openSession(P1);
    expect(await codeOf(refused)).toBe('OVERLOADED');
    expect(await messageOf(t.openSession(P1))).toMatch(/more than 3600 s ahead of the clock.*retry later/);
    expect(disk.current.stats.appends).toBe(appends);
    expect(await t.validate(first.sessionId, now + MAX_EPOCH_LEAD_S)).toBe('OK');
    expect(await t.validate(first.sessionId, now + MAX_EPOCH_LEAD_S + 1)).toBe('UNKNOWN');
    expect(await t.openSession(P2)).toMatchObject({ epoch: 0 }); // other producers are not held back

    clock.advance(1_000);
    expect(await t.openSession(P1)).toMatchObject({ sessionId: first.sessionId, epoch: now + MAX_EPOCH_LEAD_S + 1 });
    disk.fs.powerLoss();
    const t2 = await open();
    expect(await t2.validate(first.sessionId, now + MAX_EPOCH_LEAD_S)).toBe('FENCED');
    expect(await t2.validate(first.sessionId, now + MAX_EPOCH_LEAD_S + 1)).toBe('OK');
  });
});

describe('session epochs on a restored shard', () => {
  it('fences every epoch issued before the restore, a live current one included; the next reopen is at or above the floor and above every epoch issued before', async () => {
    const { open, clock, ids, disk } = world();
    const t1 = await open();
    const zombie = await t1.openSession(P1);
    const anon = await t1.openSession();
    clock.advance(10_000);
    const live = await t1.openSession(P1); // current, and live, in the backup

    const backup = disk.fs.contents(LOG)!;
    clock.advance(5_000);
    const after = await t1.openSession(P1); // fences `live` after the backup
    const lost = await t1.openSession(P2); // a session the backup never saw
    const burst = await Promise.all(Array.from({ length: 50 }, () => t1.openSession(P3))); // epochs borrowed ahead of the clock
    const issued = [after, lost, ...burst].map((r) => r.epoch);
    await t1.close();

    // The data is lost and the backup put back; the restore raised the shard's bound (the generator resumes above it).
    clock.advance(120_000);
    disk.fs.setFile(LOG, backup);
    const restored: EpochRestore = { restoredAt: clock.now(), issuedBeforeMs: clock.now() + 7_000 };
    ids.last = SESSION_LAYOUT.encode({ time: SESSION_LAYOUT.unitAt(restored.issuedBeforeMs), shard: SHARD, seq: 0 });
    const t2 = await open(restored);
    const floor = epochFloorAfter(SESSION_LAYOUT, restored);
    expect(t2.epochFloor).toBe(floor);
    expect(floor).toBe(secOf(clock) + MAX_EPOCH_LEAD_S + 1);
    expect(Math.max(...issued)).toBeLessThan(floor);

    // Every (sessionId, epoch) of before the restore: the backup's current ones, the lost ones, and the zombie.
    for (const [id, epoch] of [
      [live.sessionId, live.epoch],
      [anon.sessionId, 0],
      [zombie.sessionId, zombie.epoch],
      [after.sessionId, after.epoch],
      [lost.sessionId, lost.epoch],
    ] as const) {
      expect(await t2.validate(id, epoch), `${id}/${epoch}`).toBe('FENCED');
    }
    expect(await codeOf(t2.heartbeat(live.sessionId, live.epoch))).toBe('SESSION_FENCED');
    expect(await messageOf(t2.heartbeat(anon.sessionId, 0))).toMatch(/restored from a backup.*must open again/);
    expect(await codeOf(t2.closeSession(live.sessionId, live.epoch))).toBe('SESSION_FENCED');

    const reopened = await t2.openSession(P1);
    expect(reopened.sessionId).toBe(live.sessionId);
    expect(reopened.epoch).toBeGreaterThanOrEqual(floor);
    expect(reopened.epoch).toBeGreaterThan(Math.max(...issued));
    expect(await t2.validate(reopened.sessionId, reopened.epoch)).toBe('OK');
    expect(await t2.heartbeat(reopened.sessionId, reopened.epoch)).toEqual({ timeoutMs: OPTS.defaultTimeoutMs });
    expect(await t2.validate(after.sessionId, after.epoch)).toBe('FENCED');

    // Sessions opened after the restore start at the floor: above every epoch before the loss, also for a
    // producer the backup never saw (its lost session had epochs up there).
    const fresh = await t2.openSession();
    expect(fresh.sessionId).toBeGreaterThanOrEqual(ids.last);
    expect(fresh.epoch).toBe(floor);
    expect(await t2.validate(fresh.sessionId, floor)).toBe('OK');
    const p2 = await t2.openSession(P2); // the backup never saw it: a new session
    expect(p2.sessionId).not.toBe(lost.sessionId);
    expect(p2.epoch).toBe(floor);
    expect(p2.epoch).toBeGreaterThan(lost.epoch);
    expect(await t2.validate(p2.sessionId, floor)).toBe('OK');

    // The mark stays with the shard: after a restart the same answers.
    await t2.close();
    const t3 = await open(restored);
    expect(await t3.validate(live.sessionId, live.epoch)).toBe('FENCED');
    expect(await t3.validate(after.sessionId, after.epoch)).toBe('FENCED');
    expect(await t3.validate(reopened.sessionId, reopened.epoch)).toBe('OK');
    expect(await t3.validate(fresh.sessionId, floor)).toBe('OK');
    expect(await t3.validate(p2.sessionId, floor)).toBe('OK');
    await t3.close();
  });

  it('holds a producer to about one reopen a second right after a restore: its epochs start at the lead edge', async () => {
    const { open, clock, ids } = world();
    const t1 = await open();
    await t1.openSession(P1);
    await t1.close();
    const restored: EpochRestore = { restoredAt: clock.now(), issuedBeforeMs: clock.now() + 7_000 };
    ids.last = SESSION_LAYOUT.encode({ time: SESSION_LAYOUT.unitAt(restored.issuedBeforeMs), shard: SHARD, seq: 0 });
    const t2 = await open(restored);
    expect((await t2.openSession(P1)).epoch).toBe(t2.epochFloor);
    expect(await codeOf(t2.openSession(P1))).toBe('OVERLOADED');
    clock.advance(2_000);
    expect((await t2.openSession(P1)).epoch).toBe(t2.epochFloor + 1);
    await t2.close();
  });
});
