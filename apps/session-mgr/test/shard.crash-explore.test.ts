/**
 * Seeded crash exploration of a whole session-mgr shard open (identity, bound,
 * generator, journal replay, session table) on the crash simulator. Fault
 * models: process death, power loss, and chains of them (process death →
 * restart → service → power loss, ...), striking at a random file operation
 * of a life (open and replay included) or after its workload.
 * Invariants checked after every reopen: every epoch a client was given, and
 * every FENCED any earlier life answered (also from a replay), stays fenced
 * once a later epoch was given; a producer's next epoch is above every epoch
 * given before; session ids are never issued to two producers; the shard
 * always reopens.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import { sessionService, type SessionShard } from '../src/service.js';

const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);

/** Producer names that belong to shard 0 (a name belongs to shard keyHash(name) % 1024). */
const PRODUCERS: string[] = [];
for (let i = 0; PRODUCERS.length < 3 && i < 100_000; i++) if (shardForKey(`producer-${i}`) === 0) PRODUCERS.push(`producer-${i}`);

interface Producer {
  sessionId: bigint | undefined;
  /** Epochs given to clients, and epochs some life answered FENCED for. */
  given: Set<number>;
  fenced: Set<number>;
  /** Highest epoch given before the current life. */
  floor: number;
  high: number;
}

const ledgers = new WeakMap<object, Map<string, Producer>>();
function ledgerOf(life: ShardLife<SessionShard>): Map<string, Producer> {
  let l = ledgers.get(life.schedule);
  if (l === undefined) {
    l = new Map(PRODUCERS.map((p) => [p, { sessionId: undefined, given: new Set(), fenced: new Set(), floor: -1, high: -1 }]));
    ledgers.set(life.schedule, l);
  }
  return l;
}

const fail = (life: ShardLife<SessionShard>, what: string): never => {
  throw new Error(`life ${life.index}${life.final ? ' (after the last fault)' : ''}: ${what}`);
};

async function openOne(life: ShardLife<SessionShard>, name: string): Promise<void> {
  const p = ledgerOf(life).get(name)!;
  const s = await life.handle.state.table.openSession(name);
  if (!life.alive()) return;
  if (p.sessionId !== undefined && s.sessionId !== p.sessionId && p.given.size > 0) {
    // A new session for a known producer is allowed only if its old one was forgotten; nothing is forgotten here.
    fail(life, `${name} got session ${s.sessionId}, had ${p.sessionId}`);
  }
  if (s.epoch <= p.floor) fail(life, `${name} got epoch ${s.epoch}, not above ${p.floor} given before a fault`);
  if (p.given.has(s.epoch)) fail(life, `${name} got epoch ${s.epoch} twice`);
  p.sessionId = s.sessionId;
  p.given.add(s.epoch);
  if (s.epoch > p.high) p.high = s.epoch;
}

async function checkFencing(life: ShardLife<SessionShard>): Promise<void> {
  const table = life.handle.state.table;
  for (const [name, p] of ledgerOf(life)) {
    if (p.sessionId === undefined) continue;
    // Every epoch given, including the newest: an open cut by a fault may be
    // replayed and fence it, and a FENCED answer is a promise the next faults must keep.
    for (const epoch of new Set([...p.given, ...p.fenced])) {
      const status = await table.validate(p.sessionId, epoch);
      if (!life.alive()) return;
      if (status === 'FENCED') p.fenced.add(epoch);
      else if (epoch < p.high) fail(life, `${name} epoch ${epoch} reads ${status}, but epoch ${p.high} was given after it`);
      else if (p.fenced.has(epoch)) fail(life, `${name} epoch ${epoch} was answered FENCED before a fault, now reads ${status}`);
    }
  }
}

describe('session-mgr shard: seeded crash exploration', () => {
  it('keeps fenced epochs fenced and epochs increasing under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    expect(PRODUCERS).toHaveLength(3);
    const report = await exploreShardCrashes({
      def: sessionService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      async check(life) {
        for (const p of ledgerOf(life).values()) p.floor = p.high;
        await checkFencing(life);
        if (life.final) await openOne(life, PRODUCERS[0]!);
      },
      async workload(life) {
        const rng = life.schedule.rng;
        // Some lives only read: then nothing they append makes a replayed record durable by the way.
        const n = Math.floor(rng() * 5);
        // Opens of one producer are serialized by the table; several producers run at once.
        await Promise.all(Array.from({ length: n }, () => openOne(life, PRODUCERS[Math.floor(rng() * PRODUCERS.length)]!)));
        await checkFencing(life);
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
  });
});
