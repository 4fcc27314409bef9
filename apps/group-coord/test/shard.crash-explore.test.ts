/**
 * Seeded crash exploration of a whole group-coord shard open (identity,
 * bound, journal replay, group table) on the crash simulator. Fault models:
 * process death, power loss, and chains of them (process death → restart →
 * service → power loss, ...), striking at a random file operation of a life
 * (open and replay included) or after its workload. The test client plays
 * every member of one group: each life rejoins the durable members (a
 * rebalance), the leader syncs, members commit offsets (strictly increasing
 * per partition), and stale generations are tried.
 * Invariants checked after every reopen:
 * - no generation is handed out twice or lower: each rebalance's generation
 *   is above every generation any earlier answer carried;
 * - no acknowledged offset commit is lost: each partition reads at least the
 *   highest offset acknowledged for it;
 * - stale generations stay fenced: a heartbeat or commit with any generation
 *   below the newest one handed out is refused (GROUP_ILLEGAL_GENERATION or
 *   GROUP_UNKNOWN_MEMBER), in every later life;
 * - the shard always reopens.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import { groupService, type GroupShard } from '../src/service.js';

const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);
const PARTITIONS = 3;

/** A group on shard 0 (the shard the exploration opens). */
let GROUP = '';
for (let i = 0; GROUP === '' && i < 100_000; i++) if (shardForKey(`group-${i}`) === 0) GROUP = `group-${i}`;

interface Ledger {
  /** Highest generation any answer carried. */
  high: number;
  /** (member, generation) pairs handed out, to try once stale. */
  given: Array<{ member: string; generation: number }>;
  /** Highest offset acknowledged per partition, and the next one to commit. */
  acked: number[];
  next: number;
}

const ledgers = new WeakMap<object, Ledger>();
function ledgerOf(life: ShardLife<GroupShard>): Ledger {
  let l = ledgers.get(life.schedule);
  if (l === undefined) {
    l = { high: 0, given: [], acked: Array.from({ length: PARTITIONS }, () => -1), next: 1 };
    ledgers.set(life.schedule, l);
  }
  return l;
}

const fail = (life: ShardLife<GroupShard>, what: string): never => {
  throw new Error(`life ${life.index}${life.final ? ' (after the last fault)' : ''}: ${what}`);
};

const PROTOCOLS = [{ name: 'custom', metadata: new Uint8Array([1]) }];
const join = (life: ShardLife<GroupShard>, member?: string) =>
  life.handle.state.table.join({ group: GROUP, member, protocols: PROTOCOLS, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000 });

/** One rebalance: every durable member (or a new one) joins; the answers must agree on a generation above every earlier one. */
async function rebalance(life: ShardLife<GroupShard>): Promise<{ leader: string; generation: number; members: string[] } | undefined> {
  const l = ledgerOf(life);
  const g = life.handle.state.table.peek(GROUP);
  const known = g === undefined ? [] : [...g.members.values()].filter((m) => m.durable).map((m) => m.id);
  const answers = await Promise.all(known.length === 0 ? [join(life)] : known.map((id) => join(life, id)));
  if (!life.alive()) return undefined;
  const gens = new Set(answers.map((a) => a.generation));
  if (answers.some((a) => a.status !== 'JOINED') || gens.size !== 1) fail(life, `a rebalance answered ${JSON.stringify(answers.map((a) => [a.status, a.generation]))}`);
  const generation = answers[0]!.generation;
  if (generation <= l.high) fail(life, `generation ${generation} handed out, not above ${l.high} handed out before`);
  l.high = generation;
  for (const a of answers) l.given.push({ member: a.memberId, generation });
  return { leader: answers[0]!.leader, generation, members: answers.map((a) => a.memberId) };
}

async function checkState(life: ShardLife<GroupShard>): Promise<void> {
  const l = ledgerOf(life);
  const table = life.handle.state.table;
  const g = table.peek(GROUP);
  if (l.high > 0 && (g === undefined || g.generation < l.high)) fail(life, `the group's generation reads ${g?.generation}, but ${l.high} was handed out`);
  const read = new Map(table.fetchOffsets(GROUP).offsets.map((o) => [o.partition, o.offset]));
  l.acked.forEach((off, p) => {
    if (off >= 0 && (read.get(p) ?? -1) < off) fail(life, `partition ${p} reads ${read.get(p)}, but offset ${off} was acknowledged`);
  });
  for (const { member, generation } of l.given) {
    if (generation >= (g?.generation ?? 0)) continue;
    for (const op of [() => table.heartbeat(GROUP, member, generation), () => table.commitOffsets(GROUP, member, generation, [{ topic: 't', partition: 0, offset: 0 }])]) {
      const code = await op().then(
        () => 'ok',
        (e: { code?: string }) => String(e.code),
      );
      if (!life.alive()) return;
      if (code !== 'GROUP_ILLEGAL_GENERATION' && code !== 'GROUP_UNKNOWN_MEMBER') fail(life, `stale generation ${generation} of ${member} answered ${code}`);
    }
  }
}

async function step(life: ShardLife<GroupShard>): Promise<void> {
  const l = ledgerOf(life);
  const rng = life.schedule.rng;
  const table = life.handle.state.table;
  const r = await rebalance(life);
  if (r === undefined) return;
  await table.sync(GROUP, r.leader, r.generation, r.members.map((m) => ({ memberId: m, assignment: new Uint8Array([r.members.indexOf(m)]) })));
  if (!life.alive()) return;
  for (let i = Math.floor(rng() * 3); i > 0; i--) {
    const p = Math.floor(rng() * PARTITIONS);
    const offset = l.next++;
    const member = r.members[Math.floor(rng() * r.members.length)]!;
    await table.commitOffsets(GROUP, member, r.generation, [{ topic: 't', partition: p, offset }]);
    if (!life.alive()) return;
    l.acked[p] = Math.max(l.acked[p]!, offset);
  }
  // Sometimes a second member joins (the next rebalance has two), sometimes one leaves.
  const roll = rng();
  if (roll < 0.25 && r.members.length < 3) {
    const extra = join(life).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1));
    await join(life, r.leader).catch(() => undefined);
    await extra;
  } else if (roll < 0.4 && r.members.length > 1) {
    await table.leave(GROUP, r.members[r.members.length - 1]!);
  }
}

describe('group-coord shard: seeded crash exploration', () => {
  it('never hands out a generation twice or lower, never loses an acknowledged commit, keeps stale generations fenced, under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    expect(GROUP).not.toBe('');
    const report = await exploreShardCrashes({
      def: groupService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      // PENDING answers at once (a test member never waits); rebalances complete when every member joined.
      app: { joinWaitMs: 0 },
      async check(life) {
        await checkState(life);
        if (life.final) await rebalance(life);
      },
      async workload(life) {
        const n = Math.floor(life.schedule.rng() * 4);
        for (let i = 0; i < n; i++) {
          try {
            await step(life);
          } catch (err) {
            if (life.alive()) throw err;
            return;
          }
        }
        await checkState(life);
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
  });
});
