import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { mulberry32, type CrashKind } from '@pharaoh/storage/testing';
import { FakeClock, FakeIds, SimDisk } from '@pharaoh/testkit';
import { MAX_EPOCH } from '../src/epochs.js';
import { SessionTable } from '../src/session-table.js';
import type { SessionRecord } from '../src/records.js';

const T0 = Date.UTC(2026, 0, 1);
const SHARD = shardForKey('crash-test');
const SEEDS = 20;
const LIFETIMES = 4;

const NAMES: string[] = [];
for (let i = 0; NAMES.length < 6 && i < 1_000_000; i++) if (shardForKey(`zombie-${i}`) === SHARD) NAMES.push(`zombie-${i}`);

interface Truth {
  /** Highest acknowledged (or served after a fault) epoch per session: every epoch below it stays fenced. */
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

/** Random opens/closes/heartbeats/validates, all concurrent, until the fault `kind` hits the simulated disk. */
async function runUntilFault(t: SessionTable, disk: SimDisk, clock: FakeClock, rng: () => number, truth: Truth, kind: CrashKind): Promise<void> {
  const faultsBefore = disk.faults;
  disk.fs.crashAfterOps(5 + Math.floor(rng() * 120), kind);
  for (let round = 0; round < 200 && disk.faults === faultsBefore; round++) {
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
  disk.fs.cancelCrash();
  if (disk.faults === faultsBefore) {
    if (kind === 'power') disk.fs.powerLoss();
    else disk.fs.killProcess();
  }
}

async function check(t: SessionTable, truth: Truth): Promise<void> {
  for (const [id, e] of truth.epochs) {
    // Every epoch below the highest acknowledged one stays fenced.
    for (let old = Math.max(0, e - 3); old < e; old++) expect(await t.validate(id, old)).toBe('FENCED');
    expect(['OK', 'EXPIRED', 'UNKNOWN', 'FENCED']).toContain(await t.validate(id, e));
  }
  for (const [id, e] of truth.closed) expect(['UNKNOWN', 'FENCED']).toContain(await t.validate(id, e));
}

/**
 * What this open serves is as good as acknowledged: an epoch that a process
 * death left unacknowledged but the restart replays fences the epochs below
 * it, and they must stay fenced after any later fault, a power cut included.
 * Epochs are not consecutive (seconds-based), so the current one is found by
 * bisection: FENCED is exactly the epochs below it.
 */
async function adoptServed(t: SessionTable, truth: Truth): Promise<void> {
  for (const [id, e] of truth.epochs) {
    let lo = e;
    let hi = MAX_EPOCH + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await t.validate(id, mid)) === 'FENCED') lo = mid + 1;
      else hi = mid;
    }
    if (lo <= MAX_EPOCH) truth.epochs.set(id, lo);
  }
}

function world(seed: number) {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(SESSION_LAYOUT, SHARD, clock);
  const disk = new SimDisk(seed);
  const open = () =>
    SessionTable.open(
      { shard: SHARD, ids, clock, layout: SESSION_LAYOUT, openJournal: (hooks) => disk.open<SessionRecord>(hooks, 2048) },
      { defaultTimeoutMs: 1_000, retentionMs: 3_600_000, maxSessions: 10_000, maxEnded: 100_000 },
    );
  return { clock, ids, disk, open };
}

describe('SessionTable under simulated process deaths and power cuts', () => {
  it('keeps every acknowledged or served epoch and producer mapping, fenced stays fenced, no ID twice, across random chains of faults', async () => {
    expect(NAMES.length).toBe(6);
    let deaths = 0;
    let cuts = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = mulberry32(seed);
      const { clock, ids, disk, open } = world(seed);
      const truth: Truth = { epochs: new Map(), owner: new Map(), closed: [] };
      for (let life = 0; life < LIFETIMES; life++) {
        const t = await open();
        await check(t, truth);
        await adoptServed(t, truth);
        // Reopening a producer after the crash continues its session above every acknowledged epoch.
        const name = NAMES[life % NAMES.length]!;
        const id = truth.owner.get(name);
        const r = await t.openSession(name);
        if (id !== undefined) {
          expect(r.sessionId).toBe(id);
          expect(r.epoch).toBeGreaterThan(truth.epochs.get(id)!);
        }
        ack(truth, name, r);
        // Alternate so every seed has process death followed by a power cut, and random order otherwise.
        const kind: CrashKind = life % 2 === 0 ? 'process' : rng() < 0.7 ? 'power' : 'process';
        await runUntilFault(t, disk, clock, rng, truth, kind);
      }
      const last = await open();
      await check(last, truth);
      expect(new Set(ids.issued).size).toBe(ids.issued.length);
      await last.close();
      deaths += disk.fs.stats.processDeaths;
      cuts += disk.fs.stats.powerLosses;
    }
    expect(deaths).toBeGreaterThan(SEEDS);
    expect(cuts).toBeGreaterThan(SEEDS / 2);
  });

  it('keeps an epoch FENCED after a power cut once a restart has replayed a reopen whose fdatasync a process death cut', async () => {
    const name = NAMES[0]!;
    for (let seed = 1; seed <= 12; seed++) {
      const { disk, open } = world(seed);
      const t1 = await open();
      const first = await t1.openSession(name);
      await disk.killBeforeSync(() => t1.openSession(name)); // the fencing reopen: epoch + 1, never acknowledged

      // The restart reads the new epoch from the page cache and serves it: the old epoch is fenced.
      const t2 = await open();
      expect(await t2.validate(first.sessionId, first.epoch)).toBe('FENCED');
      disk.fs.powerLoss();

      const t3 = await open();
      expect(await t3.validate(first.sessionId, first.epoch), `seed ${seed}`).toBe('FENCED');
      await t3.close();
    }
  });
});
