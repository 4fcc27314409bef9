import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, mulberry32, SimDisk } from '@pharaoh/testkit';
import { SessionTable } from '../src/session-table.js';
import type { SessionRecord } from '../src/records.js';

const T0 = Date.UTC(2026, 0, 1);
const SHARD = shardForKey('crash-test');
const SEEDS = 20;
const LIFETIMES = 4;

const NAMES: string[] = [];
for (let i = 0; NAMES.length < 6 && i < 1_000_000; i++) if (shardForKey(`zombie-${i}`) === SHARD) NAMES.push(`zombie-${i}`);

interface Truth {
  /** Highest acknowledged epoch per session. */
  epochs: Map<bigint, number>;
  /** The sessionId each producer was acknowledged with. */
  owner: Map<string, bigint>;
  /** Acknowledged closes. */
  closed: Array<[bigint, number]>;
}

function ack(truth: Truth, producer: string | undefined, r: { sessionId: bigint; epoch: number }): void {
  if (producer !== undefined) {
    const prev = truth.owner.get(producer);
    if (prev !== undefined) expect(r.sessionId).toBe(prev);
    truth.owner.set(producer, r.sessionId);
  }
  truth.epochs.set(r.sessionId, Math.max(truth.epochs.get(r.sessionId) ?? -1, r.epoch));
}

async function runUntilCrash(t: SessionTable, disk: SimDisk, clock: FakeClock, rng: () => number, truth: Truth): Promise<void> {
  const crashesBefore = disk.fs.crashes;
  disk.fs.crashAfterOps(5 + Math.floor(rng() * 120), rng);
  for (let round = 0; round < 200 && disk.fs.crashes === crashesBefore; round++) {
    const ops: Array<Promise<unknown>> = [];
    const known = [...truth.epochs];
    for (let i = 0; i < 8; i++) {
      const r = rng();
      const pick = known[Math.floor(rng() * known.length)];
      if (r < 0.45 || pick === undefined) {
        const producer = rng() < 0.8 ? NAMES[Math.floor(rng() * NAMES.length)] : undefined;
        ops.push(t.openSession(producer, 500 + Math.floor(rng() * 2_000)).then((o) => ack(truth, producer, o)));
      } else if (r < 0.6) {
        const [id, e] = pick;
        ops.push(t.closeSession(id, e).then(() => truth.closed.push([id, e])));
      } else if (r < 0.8) {
        ops.push(t.heartbeat(pick[0], pick[1]));
      } else {
        ops.push(t.validate(pick[0], pick[1]));
      }
    }
    if (rng() < 0.2) clock.advance(Math.floor(rng() * 600));
    if (rng() < 0.05) ops.push(t.sweep());
    await Promise.allSettled(ops);
  }
  if (disk.fs.crashes === crashesBefore) disk.fs.crash(rng);
}

async function check(t: SessionTable, truth: Truth): Promise<void> {
  for (const [id, e] of truth.epochs) {
    // Every epoch below the highest acknowledged one stays fenced.
    for (let old = Math.max(0, e - 3); old < e; old++) expect(await t.validate(id, old)).toBe('FENCED');
    expect(['OK', 'EXPIRED', 'UNKNOWN', 'FENCED']).toContain(await t.validate(id, e));
  }
  for (const [id, e] of truth.closed) expect(['UNKNOWN', 'FENCED']).toContain(await t.validate(id, e));
}

describe('SessionTable under simulated power cuts', () => {
  it('keeps every acknowledged epoch and producer mapping, fenced stays fenced, no ID twice, across random crashes', async () => {
    expect(NAMES.length).toBe(6);
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = mulberry32(seed);
      const clock = new FakeClock(T0);
      const ids = new FakeIds(SESSION_LAYOUT, SHARD, clock);
      const disk = new SimDisk();
      const truth: Truth = { epochs: new Map(), owner: new Map(), closed: [] };
      const open = () =>
        SessionTable.open(
          { shard: SHARD, ids, clock, openJournal: (hooks) => disk.open<SessionRecord>(hooks, 2048) },
          { defaultTimeoutMs: 1_000, retentionMs: 3_600_000, maxSessions: 10_000, maxEnded: 100_000 },
        );
      for (let life = 0; life < LIFETIMES; life++) {
        const t = await open();
        await check(t, truth);
        // Reopening a producer after the crash continues its session above every acknowledged epoch.
        const name = NAMES[life % NAMES.length]!;
        const id = truth.owner.get(name);
        const r = await t.openSession(name);
        if (id !== undefined) {
          expect(r.sessionId).toBe(id);
          expect(r.epoch).toBeGreaterThan(truth.epochs.get(id)!);
        }
        ack(truth, name, r);
        await runUntilCrash(t, disk, clock, rng, truth);
      }
      const last = await open();
      await check(last, truth);
      expect(new Set(ids.issued).size).toBe(ids.issued.length);
      await last.close();
    }
  });
});
