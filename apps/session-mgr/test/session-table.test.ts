import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, SimDisk, codeOf } from '@pharaoh/testkit';
import { MAX_EPOCH } from '../src/epochs.js';
import { SessionTable } from '../src/session-table.js';
import type { SessionTableOptions } from '../src/options.js';
import type { SessionRecord } from '../src/records.js';
import { namesFor, secOf } from './helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const SHARD = shardForKey('orders-producer');
const OPTS: SessionTableOptions = { defaultTimeoutMs: 1_000, retentionMs: 60_000, maxSessions: 100, maxEnded: 1_000 };

const [P1, P2, P3] = namesFor(SHARD, 3);
const p1 = P1!;
const p2 = P2!;
const p3 = P3!;

function world(opts: Partial<SessionTableOptions> = {}) {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(SESSION_LAYOUT, SHARD, clock);
  const disk = new SimDisk();
  const open = (compactAtBytes?: number) =>
    SessionTable.open(
      { shard: SHARD, ids, clock, layout: SESSION_LAYOUT, openJournal: (hooks) => disk.open<SessionRecord>(hooks, compactAtBytes) },
      { ...OPTS, ...opts },
    );
  return { clock, ids, disk, open };
}

describe('SessionTable', () => {
  it('opens anonymous sessions with new, increasing sessionIds at epoch 0', async () => {
    const { open } = world();
    const t = await open();
    const a = await t.openSession();
    const b = await t.openSession(undefined, 5_000);
    expect(a.epoch).toBe(0);
    expect(b.epoch).toBe(0);
    expect(b.sessionId).toBeGreaterThan(a.sessionId);
    expect(SESSION_LAYOUT.shardOf(a.sessionId)).toBe(SHARD);
    expect([a.timeoutMs, b.timeoutMs]).toEqual([OPTS.defaultTimeoutMs, 5_000]);
    expect(await t.validate(a.sessionId, 0)).toBe('OK');
  });

  it('reopening a producer returns the same sessionId at a higher, seconds-based epoch and fences the old epoch', async () => {
    const { open, clock } = world();
    const t = await open();
    const first = await t.openSession(p1);
    const second = await t.openSession(p1);
    expect(first.epoch).toBe(0);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.epoch).toBe(secOf(clock));
    expect(await t.validate(first.sessionId, first.epoch)).toBe('FENCED');
    expect(await t.validate(second.sessionId, second.epoch)).toBe('OK');
    expect(await codeOf(t.heartbeat(first.sessionId, first.epoch))).toBe('SESSION_FENCED');
    expect(await codeOf(t.closeSession(first.sessionId, first.epoch))).toBe('SESSION_FENCED');
    expect((await t.openSession(p2)).sessionId).not.toBe(first.sessionId);
  });

  it('refuses a producer name that hashes to another shard, naming the owner', async () => {
    const { open } = world();
    const t = await open();
    const foreign = namesFor((SHARD + 1) % 1024, 1, 'other')[0]!;
    const err = await t.openSession(foreign).catch((e: unknown) => e as { code: string; message: string; details: { shard?: number } });
    expect(err).toMatchObject({ code: 'NOT_OWNER', details: { shard: (SHARD + 1) % 1024 } });
    expect((err as { message: string }).message).toContain(`shard ${(SHARD + 1) % 1024}`);
  });

  it('expires a session without heartbeats; the producer reopens the same session at a higher epoch', async () => {
    const { open, clock } = world();
    const t = await open();
    const s = await t.openSession(p1);
    clock.advance(OPTS.defaultTimeoutMs);
    expect(await t.validate(s.sessionId, s.epoch)).toBe('EXPIRED');
    expect(await codeOf(t.heartbeat(s.sessionId, s.epoch))).toBe('SESSION_EXPIRED');
    const again = await t.openSession(p1);
    expect(again).toMatchObject({ sessionId: s.sessionId, epoch: secOf(clock) });
    expect(again.epoch).toBeGreaterThan(s.epoch);
    expect(await t.validate(s.sessionId, s.epoch)).toBe('FENCED');
    expect(await t.validate(again.sessionId, again.epoch)).toBe('OK');
  });

  it('keeps a heartbeated session alive past its first deadline', async () => {
    const { open, clock } = world();
    const t = await open();
    const s = await t.openSession();
    for (let i = 0; i < 5; i++) {
      clock.advance(OPTS.defaultTimeoutMs - 1);
      expect(await t.heartbeat(s.sessionId, 0)).toEqual({ timeoutMs: OPTS.defaultTimeoutMs });
    }
    expect(await t.validate(s.sessionId, 0)).toBe('OK');
  });

  it('closes idempotently; a closed session is UNKNOWN and its producer reopens it at a higher epoch', async () => {
    const { open, clock } = world();
    const t = await open();
    const s = await t.openSession(p1);
    expect(await t.closeSession(s.sessionId, s.epoch)).toEqual({});
    expect(await t.closeSession(s.sessionId, s.epoch)).toEqual({});
    expect(await t.validate(s.sessionId, s.epoch)).toBe('UNKNOWN');
    expect(await codeOf(t.heartbeat(s.sessionId, s.epoch))).toBe('SESSION_UNKNOWN');
    expect(await t.openSession(p1)).toMatchObject({ sessionId: s.sessionId, epoch: secOf(clock) });
  });

  it('answers UNKNOWN for a session it never opened and for an epoch it never issued', async () => {
    const { open } = world();
    const t = await open();
    const s = await t.openSession(p1);
    expect(await t.validate(s.sessionId + 1000n, 0)).toBe('UNKNOWN');
    expect(await t.validate(s.sessionId, s.epoch + 1)).toBe('UNKNOWN');
    expect(await codeOf(t.closeSession(s.sessionId + 1000n, 0))).toBe('SESSION_UNKNOWN');
    expect(await codeOf(t.heartbeat(s.sessionId, 7))).toBe('SESSION_UNKNOWN');
  });

  it('gives concurrent opens of one producer distinct epochs of one session; only the last is OK', async () => {
    const { open, clock } = world();
    const t = await open();
    const opens = await Promise.all(Array.from({ length: 10 }, () => t.openSession(p1)));
    expect(new Set(opens.map((o) => o.sessionId)).size).toBe(1);
    const epochs = opens.map((o) => o.epoch).sort((a, b) => a - b);
    // The first creates the session (epoch 0); the clock does not move, so the rest borrow the next seconds.
    const now = secOf(clock);
    expect(epochs).toEqual([0, ...Array.from({ length: 9 }, (_, i) => now + i)]);
    const id = opens[0]!.sessionId;
    for (const e of epochs.slice(0, -1)) expect(await t.validate(id, e)).toBe('FENCED');
    expect(await t.validate(id, epochs[9]!)).toBe('OK');
  });

  it('answers OVERLOADED at maxSessions live sessions, still lets a live producer reopen, and frees room on close', async () => {
    const { open } = world({ maxSessions: 2 });
    const t = await open();
    const a = await t.openSession(p1);
    await t.openSession();
    expect(await codeOf(t.openSession())).toBe('OVERLOADED');
    expect(await codeOf(t.openSession(p2))).toBe('OVERLOADED');
    const again = await t.openSession(p1);
    expect(again.epoch).toBeGreaterThan(a.epoch);
    await t.closeSession(a.sessionId, again.epoch);
    expect(await t.openSession(p2)).toHaveProperty('sessionId');
  });

  it('after a crash keeps every epoch: fenced stays fenced, closed stays closed, live sessions get a fresh timeout', async () => {
    const { open, clock, disk, ids } = world();
    const t1 = await open();
    const z = await t1.openSession(p1);
    const live = await t1.openSession(p1);
    const closed = await t1.openSession(p2);
    await t1.closeSession(closed.sessionId, 0);
    const expired = await t1.openSession(p3, 200);
    clock.advance(500);
    expect(await t1.sweep()).toBe(1);
    const anon = await t1.openSession();
    const last = ids.last;
    disk.fs.powerLoss();

    clock.advance(OPTS.defaultTimeoutMs * 3); // longer than any timeout: only the restart grace keeps them live
    const t2 = await open();
    expect(await t2.validate(z.sessionId, z.epoch)).toBe('FENCED');
    expect(await t2.validate(live.sessionId, live.epoch)).toBe('OK');
    expect(await t2.validate(anon.sessionId, 0)).toBe('OK');
    expect(await t2.validate(closed.sessionId, 0)).toBe('UNKNOWN');
    expect(await t2.validate(expired.sessionId, 0)).toBe('EXPIRED');
    const reopened = await t2.openSession(p1);
    expect(reopened).toMatchObject({ sessionId: z.sessionId, epoch: secOf(clock) });
    expect(reopened.epoch).toBeGreaterThan(live.epoch);
    expect(await t2.validate(live.sessionId, live.epoch)).toBe('FENCED');
    expect(await t2.openSession(p2)).toMatchObject({ sessionId: closed.sessionId, epoch: secOf(clock) }); // its own epochs: from the clock
    expect((await t2.openSession()).sessionId).toBeGreaterThan(last);
  });

  it('forgets ended sessions after retention: the old id is UNKNOWN and the producer starts a new session, also after compaction and a crash', async () => {
    const { open, clock, disk } = world();
    const t1 = await open();
    const old = await t1.openSession(p1);
    await t1.closeSession(old.sessionId, 0);
    const keep = await t1.openSession(p2);
    const kept = await t1.openSession(p2);
    clock.advance(OPTS.retentionMs + 1);
    await t1.heartbeat(keep.sessionId, kept.epoch).catch(() => undefined);
    await t1.sweep();
    expect(await t1.validate(old.sessionId, 0)).toBe('UNKNOWN');
    await disk.current.compact();
    disk.fs.powerLoss();

    const t2 = await open();
    expect(await t2.validate(old.sessionId, 0)).toBe('UNKNOWN');
    expect(await t2.validate(keep.sessionId, 0)).toBe('FENCED');
    const fresh = await t2.openSession(p1);
    expect(fresh.sessionId).toBeGreaterThan(old.sessionId);
    expect(fresh.epoch).toBe(0);
  });

  it('bounds remembered ended sessions: beyond maxEnded the oldest are forgotten', async () => {
    const { open } = world({ maxEnded: 3 });
    const t = await open();
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await t.openSession();
      await t.closeSession(s.sessionId, 0);
      ids.push(s.sessionId);
    }
    expect(t.stats.ended).toBe(3);
    expect(await codeOf(t.closeSession(ids[0]!, 0))).toBe('SESSION_UNKNOWN');
    expect(await t.closeSession(ids[5]!, 0)).toEqual({});
  });

  it('moves a producer whose epochs are used up to a new session and fences every epoch of the old one', async () => {
    const { open, disk, clock } = world();
    const oldId = (await new FakeIds(SESSION_LAYOUT, SHARD, clock).next()) - 1n;
    const j = await disk.open<SessionRecord>({ onRecord: () => undefined, snapshot: () => [] });
    await j.append({ t: 'o', id: oldId, e: MAX_EPOCH, to: 1_000, p: p1 });
    await j.close();
    const t = await open();
    expect(await t.validate(oldId, MAX_EPOCH)).toBe('OK');
    const next = await t.openSession(p1);
    expect(next.sessionId).not.toBe(oldId);
    expect(next.epoch).toBe(0);
    expect(await t.validate(oldId, MAX_EPOCH)).toBe('FENCED');
    await t.close();
    const t2 = await open(4096);
    expect(await t2.validate(oldId, MAX_EPOCH)).toBe('FENCED');
    expect(await t2.validate(next.sessionId, 0)).toBe('OK');
  });

  it('compacts the journal to the live state and replays it identically', async () => {
    const { open, disk } = world();
    const t1 = await open(4096);
    const names = namesFor(SHARD, 20, 'c');
    const latest = new Map<string, { sessionId: bigint; epoch: number }>();
    for (let round = 0; round < 15; round++) {
      for (const n of names) latest.set(n, await t1.openSession(n, 60_000));
    }
    expect(disk.current.stats.compactions).toBeGreaterThan(0);
    await t1.close();
    const t2 = await open(4096);
    for (const s of latest.values()) {
      expect(await t2.validate(s.sessionId, s.epoch)).toBe('OK');
      expect(await t2.validate(s.sessionId, s.epoch - 1)).toBe('FENCED');
    }
  });
});
