import { describe, expect, it } from 'vitest';
import { codeOf } from '@pharaoh/testkit';
import { MAX_EPOCH_LEAD_S } from '@pharaoh/server';
import { SHARD, bytes, groupsFor, joinArgs, secOf, settle, text, world } from './helpers.js';

const [G1, G2] = groupsFor(SHARD, 2) as [string, string];

/** One member that formed generation 1 and synced its own assignment. */
async function stableOne(t: Awaited<ReturnType<ReturnType<typeof world>['open']>>, group = G1) {
  const a = await t.join(joinArgs(group));
  await t.sync(group, a.memberId, a.generation, [{ memberId: a.memberId, assignment: bytes('all') }]);
  return a;
}

describe('GroupTable: rebalance', () => {
  it('a first member forms a seconds-based generation at once, leads it, and gets the members with their metadata', async () => {
    const { open, clock } = world();
    const t = await open();
    const a = await t.join(joinArgs(G1));
    expect(a).toMatchObject({ status: 'JOINED', memberId: 'm1', generation: secOf(clock), leader: 'm1', protocol: 'custom' });
    expect(a.members.map((m) => [m.memberId, text(m.metadata)])).toEqual([['m1', 'sub']]);
    const s = await t.sync(G1, 'm1', a.generation, [{ memberId: 'm1', assignment: bytes('p0,p1') }]);
    expect(s).toMatchObject({ status: 'ASSIGNED', protocol: 'custom' });
    expect(text(s.assignment)).toBe('p0,p1');
    expect(await t.heartbeat(G1, 'm1', a.generation)).toEqual({});
  });

  it('a second member starts a rebalance: the first hears GROUP_REBALANCE_IN_PROGRESS, rejoins, and both get one higher generation', async () => {
    const { open } = world();
    const t = await open();
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    expect(await codeOf(t.heartbeat(G1, a.memberId, a.generation))).toBe('GROUP_REBALANCE_IN_PROGRESS');
    expect(await codeOf(t.sync(G1, a.memberId, a.generation))).toBe('GROUP_REBALANCE_IN_PROGRESS');
    const a2 = await t.join(joinArgs(G1, a.memberId));
    const b = await bJoin;
    expect(a2.generation).toBe(a.generation + 1);
    expect(b.generation).toBe(a2.generation);
    expect(a2.leader).toBe(a.memberId);
    expect(b.leader).toBe(a.memberId);
    expect(a2.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
    expect(b.members).toEqual([]);
    // The old generation is fenced from every op.
    expect(await codeOf(t.heartbeat(G1, a.memberId, a.generation))).toBe('GROUP_ILLEGAL_GENERATION');
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 1 }]))).toBe('GROUP_ILLEGAL_GENERATION');
    expect(await codeOf(t.sync(G1, a.memberId, a.generation))).toBe('GROUP_ILLEGAL_GENERATION');
    // The follower waits for the leader's assignment.
    const bSync = t.sync(G1, b.memberId, b.generation);
    await t.sync(G1, a.memberId, a2.generation, [
      { memberId: a.memberId, assignment: bytes('A') },
      { memberId: b.memberId, assignment: bytes('B') },
    ]);
    expect(text((await bSync).assignment)).toBe('B');
  });

  it('answers PENDING after joinWaitMs and keeps the member in the rebalance; the same join again gets the generation', async () => {
    const { open, timers } = world();
    const t = await open();
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    timers.fireAll();
    const pending = await bJoin;
    expect(pending).toMatchObject({ status: 'PENDING', memberId: 'm2', generation: 0 });
    const a2 = await t.join(joinArgs(G1, a.memberId));
    expect(a2.status).toBe('JOINED');
    // Its earlier join answered PENDING: joining again unchanged returns the generation that formed.
    const b = await t.join(joinArgs(G1, pending.memberId));
    expect(b).toMatchObject({ status: 'JOINED', generation: a2.generation, leader: a.memberId });
    const bSync = t.sync(G1, b.memberId, b.generation);
    await settle();
    timers.fireAll();
    expect((await bSync).status).toBe('PENDING');
  });

  it('takes an unknown memberId as a new member of that id; refuses a join offering no protocol the others share', async () => {
    const { open } = world();
    const t = await open();
    const a = await stableOne(t);
    const mine = t.join(joinArgs(G1, 'client-chosen'));
    await settle();
    await t.join(joinArgs(G1, a.memberId));
    expect(await mine).toMatchObject({ status: 'JOINED', memberId: 'client-chosen', leader: a.memberId });
    expect(await codeOf(t.join(joinArgs(G1, undefined, [{ name: 'other', metadata: bytes('') }])))).toBe('GROUP_INCONSISTENT_PROTOCOL');
    expect(await codeOf(t.heartbeat(G2, 'm1', 1))).toBe('GROUP_UNKNOWN_MEMBER');
  });
});

describe('GroupTable: timeouts (injected clock)', () => {
  it('removes a member that misses its session timeout (durably) and the rest rebalance without it', async () => {
    const { open, clock } = world();
    const t = await open();
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    const a2 = await t.join(joinArgs(G1, a.memberId));
    const b = await bJoin;
    await t.sync(G1, a.memberId, a2.generation, []);
    clock.advance(6_000);
    await t.heartbeat(G1, a.memberId, a2.generation);
    clock.advance(5_000); // b: 11 s without a heartbeat (> 10 s)
    expect(await t.sweep()).toBe(1);
    expect(await codeOf(t.heartbeat(G1, b.memberId, b.generation))).toBe('GROUP_UNKNOWN_MEMBER');
    expect(await codeOf(t.heartbeat(G1, a.memberId, a2.generation))).toBe('GROUP_REBALANCE_IN_PROGRESS');
    const a3 = await t.join(joinArgs(G1, a.memberId));
    expect(a3.generation).toBeGreaterThan(a2.generation);
    expect(a3.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  it('completes a rebalance at its deadline without the members that did not join again', async () => {
    const { open, clock } = world();
    const t = await open();
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    const a2 = await t.join(joinArgs(G1, a.memberId));
    const b = await bJoin;
    await t.sync(G1, a.memberId, a2.generation, []);
    // a triggers a rebalance (a leader's rejoin); b never joins again.
    const a3Join = t.join(joinArgs(G1, a.memberId));
    clock.advance(4_000);
    await t.heartbeat(G1, b.memberId, b.generation).catch(() => undefined);
    expect(await t.sweep()).toBe(0);
    clock.advance(1_500); // past the rebalance timeout (5 s), b's session (10 s) still alive
    await t.sweep();
    const a3 = await a3Join;
    expect(a3.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(await codeOf(t.heartbeat(G1, b.memberId, b.generation))).toBe('GROUP_UNKNOWN_MEMBER');
  });

  it('rebalances when the leader does not sync within the rebalance timeout; waiting followers hear GROUP_REBALANCE_IN_PROGRESS', async () => {
    const { open, clock } = world();
    const t = await open();
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    const a2 = await t.join(joinArgs(G1, a.memberId));
    const b = await bJoin;
    const bSync = t.sync(G1, b.memberId, b.generation);
    clock.advance(5_000);
    await t.sweep();
    expect(await codeOf(bSync)).toBe('GROUP_REBALANCE_IN_PROGRESS');
    expect(await codeOf(t.heartbeat(G1, a.memberId, a2.generation))).toBe('GROUP_REBALANCE_IN_PROGRESS');
  });

  it('a leave is durable, fences the member and makes the others rebalance; the last leave leaves an empty generation', async () => {
    const { open } = world();
    const t = await open();
    const a = await stableOne(t);
    expect(await t.leave(G1, a.memberId)).toEqual({});
    await settle();
    expect(await codeOf(t.heartbeat(G1, a.memberId, a.generation))).toBe('GROUP_UNKNOWN_MEMBER');
    expect(await codeOf(t.leave(G1, a.memberId))).toBe('GROUP_UNKNOWN_MEMBER');
    expect(t.peek(G1)).toMatchObject({ phase: 'EMPTY', generation: a.generation + 1 });
    const b = await t.join(joinArgs(G1));
    expect(b.generation).toBe(a.generation + 2);
  });

  it('forgets an empty group with its offsets after retention, but only once its generation is behind the clock', async () => {
    const { open, clock } = world();
    const t = await open();
    const a = await stableOne(t);
    await t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 5 }]);
    await t.leave(G1, a.memberId);
    await settle();
    clock.advance(59_000);
    await t.sweep();
    expect(t.fetchOffsets(G1).offsets).toHaveLength(1);
    clock.advance(2_000);
    await t.sweep();
    expect(t.fetchOffsets(G1).offsets).toEqual([]);
    expect(t.peek(G1)).toBeUndefined();
  });
});

describe('GroupTable: offsets', () => {
  it('commits for the current generation and fetches them back, all or by partition; refuses non-members and a generation awaiting its assignment', async () => {
    const { open } = world();
    const t = await open();
    const a = await t.join(joinArgs(G1));
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 1 }]))).toBe('GROUP_REBALANCE_IN_PROGRESS');
    await t.sync(G1, a.memberId, a.generation, []);
    await t.commitOffsets(G1, a.memberId, a.generation, [
      { topic: 't', partition: 0, offset: 10, metadata: 'x' },
      { topic: 't', partition: 1, offset: 2 ** 40 },
    ]);
    await t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 11 }]);
    expect(t.fetchOffsets(G1).offsets).toEqual([
      { topic: 't', partition: 0, offset: 11, metadata: '' },
      { topic: 't', partition: 1, offset: 2 ** 40, metadata: '' },
    ]);
    expect(t.fetchOffsets(G1, [{ topic: 't', partition: 1 }, { topic: 'u', partition: 0 }]).offsets).toEqual([{ topic: 't', partition: 1, offset: 2 ** 40, metadata: '' }]);
    expect(t.fetchOffsets(G2).offsets).toEqual([]);
    expect(await codeOf(t.commitOffsets(G1, 'nobody', a.generation, [{ topic: 't', partition: 0, offset: 1 }]))).toBe('GROUP_UNKNOWN_MEMBER');
  });
});

describe('GroupTable: built-in assignors', () => {
  const sub = (topics: Record<string, number>) => [{ name: 'range', metadata: bytes(JSON.stringify({ topics })) }];

  it('range: the coordinator assigns contiguous ranges; the group is stable without a leader sync', async () => {
    const { open } = world();
    const t = await open();
    const a = await t.join({ ...joinArgs(G1), protocols: sub({ orders: 5 }) });
    const bJoin = t.join({ ...joinArgs(G1), protocols: sub({ orders: 5 }) });
    await settle();
    const a2 = await t.join({ ...joinArgs(G1, a.memberId), protocols: sub({ orders: 5 }) });
    const b = await bJoin;
    expect(a2.protocol).toBe('range');
    expect(JSON.parse(text((await t.sync(G1, a.memberId, a2.generation)).assignment))).toEqual({ orders: [0, 1, 2] });
    expect(JSON.parse(text((await t.sync(G1, b.memberId, b.generation)).assignment))).toEqual({ orders: [3, 4] });
    expect(await codeOf(t.sync(G1, a.memberId, a2.generation, [{ memberId: a.memberId, assignment: bytes('x') }]))).toBe('resolved');
  });

  it('sticky: members keep their partitions across a rebalance as far as balance allows', async () => {
    const { open } = world();
    const t = await open();
    const proto = [{ name: 'sticky', metadata: bytes(JSON.stringify({ topics: { t: 6 } })) }];
    const a = await t.join({ ...joinArgs(G1), protocols: proto });
    expect(JSON.parse(text((await t.sync(G1, a.memberId, a.generation)).assignment))).toEqual({ t: [0, 1, 2, 3, 4, 5] });
    const bJoin = t.join({ ...joinArgs(G1), protocols: proto });
    await settle();
    const a2 = await t.join({ ...joinArgs(G1, a.memberId), protocols: proto });
    const b = await bJoin;
    const mine = JSON.parse(text((await t.sync(G1, a.memberId, a2.generation)).assignment)) as { t: number[] };
    const theirs = JSON.parse(text((await t.sync(G1, b.memberId, b.generation)).assignment)) as { t: number[] };
    expect(mine.t).toEqual([0, 1, 2]);
    expect(theirs.t).toEqual([3, 4, 5]);
  });

  it('refuses built-in metadata that is not the documented JSON, with BAD_REQUEST naming the protocol', async () => {
    const { open } = world();
    const t = await open();
    const err = await t.join({ ...joinArgs(G1), protocols: [{ name: 'roundrobin', metadata: bytes('topics: t') }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'protocols[roundrobin].metadata' } });
  });
});

describe('GroupTable: limits and bad input', () => {
  it('answers GROUP_FULL, OVERLOADED, BAD_REQUEST and NOT_OWNER with the limit named', async () => {
    const { open } = world({ maxMembers: 1, maxGroups: 1, maxOffsetsPerCommit: 2, maxOffsetsPerGroup: 2 });
    const t = await open();
    const a = await stableOne(t);
    expect(await codeOf(t.join(joinArgs(G1)))).toBe('GROUP_FULL');
    expect(await codeOf(t.join(joinArgs(G2)))).toBe('OVERLOADED');
    const three = [0, 1, 2].map((p) => ({ topic: 't', partition: p, offset: 1 }));
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, three))).toBe('BAD_REQUEST');
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, []))).toBe('BAD_REQUEST');
    await t.commitOffsets(G1, a.memberId, a.generation, three.slice(0, 2));
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 'u', partition: 0, offset: 1 }]))).toBe('GROUP_FULL');
    expect(await codeOf(t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 1, metadata: 'x'.repeat(17) }]))).toBe('BAD_REQUEST');
    const other = groupsFor((SHARD + 1) % 1024, 1)[0]!;
    expect(await codeOf(t.join(joinArgs(other)))).toBe('NOT_OWNER');
  });

  it('refuses session and rebalance timeouts outside the server bounds, duplicate protocols, oversized metadata and assignments', async () => {
    const { open } = world();
    const t = await open();
    expect(await codeOf(t.join({ ...joinArgs(G1), sessionTimeoutMs: 500 }))).toBe('BAD_REQUEST');
    expect(await codeOf(t.join({ ...joinArgs(G1), sessionTimeoutMs: 60_001 }))).toBe('BAD_REQUEST');
    expect(await codeOf(t.join({ ...joinArgs(G1), rebalanceTimeoutMs: 60_001 }))).toBe('BAD_REQUEST');
    expect(await codeOf(t.join({ ...joinArgs(G1), protocols: [] }))).toBe('BAD_REQUEST');
    const p = { name: 'x', metadata: bytes('') };
    expect(await codeOf(t.join({ ...joinArgs(G1), protocols: [p, p] }))).toBe('BAD_REQUEST');
    expect(await codeOf(t.join({ ...joinArgs(G1), protocols: [{ name: 'x', metadata: new Uint8Array(257) }] }))).toBe('BAD_REQUEST');
    const a = await t.join(joinArgs(G1));
    expect(await codeOf(t.sync(G1, a.memberId, a.generation, [{ memberId: a.memberId, assignment: new Uint8Array(257) }]))).toBe('BAD_REQUEST');
    expect(await codeOf(t.sync(G1, a.memberId, a.generation, [{ memberId: 'nobody', assignment: bytes('') }]))).toBe('BAD_REQUEST');
    expect(await codeOf(t.sync(G1, a.memberId, a.generation))).toBe('BAD_REQUEST');
  });
});

describe('GroupTable: durability and generations', () => {
  it('a restart keeps generations, members, assignments and offsets; the next generation is higher even with the clock set back', async () => {
    const { open, clock, disk } = world();
    let t = await open();
    const a = await stableOne(t);
    await t.commitOffsets(G1, a.memberId, a.generation, [{ topic: 't', partition: 3, offset: 42, metadata: 'm' }]);
    disk.fs.killProcess();
    await t.close().catch(() => undefined);
    clock.advance(-1_000_000);
    t = await open();
    expect(t.fetchOffsets(G1).offsets).toEqual([{ topic: 't', partition: 3, offset: 42, metadata: 'm' }]);
    expect(await t.heartbeat(G1, a.memberId, a.generation)).toEqual({});
    expect(text((await t.sync(G1, a.memberId, a.generation)).assignment)).toBe('all');
    const again = await t.join(joinArgs(G1, a.memberId));
    expect(again.generation).toBe(a.generation + 1);
    await t.close();
  });

  it('compaction keeps the same state (generation, pending rebalance after a leave, offsets)', async () => {
    const { open, disk } = world();
    let t = await open(4_096);
    const a = await stableOne(t);
    const bJoin = t.join(joinArgs(G1));
    await settle();
    const a2 = await t.join(joinArgs(G1, a.memberId));
    const b = await bJoin;
    await t.sync(G1, a.memberId, a2.generation, []);
    for (let i = 0; i < 60; i++) await t.commitOffsets(G1, a.memberId, a2.generation, [{ topic: 't'.repeat(40), partition: i % 20, offset: i }]);
    await t.leave(G1, b.memberId);
    await settle();
    await t.close();
    expect(disk.current.stats.compactions).toBeGreaterThan(0);
    t = await open(4_096);
    expect(await codeOf(t.heartbeat(G1, a.memberId, a2.generation))).toBe('GROUP_REBALANCE_IN_PROGRESS');
    expect(t.fetchOffsets(G1).offsets).toHaveLength(20);
    const a3 = await t.join(joinArgs(G1, a.memberId));
    expect(a3.generation).toBeGreaterThan(a2.generation);
    await t.close();
  });

  it('a group rebalancing faster than once a second borrows future seconds up to MAX_EPOCH_LEAD_S, then answers OVERLOADED', async () => {
    const { open, clock } = world();
    const t = await open();
    const first = await stableOne(t);
    let last = first.generation;
    for (let i = 0; i < MAX_EPOCH_LEAD_S; i++) {
      // A leader's rejoin in a stable group asks for a rebalance.
      const r = await t.join(joinArgs(G1, first.memberId));
      expect(r.generation).toBe(last + 1);
      await t.sync(G1, first.memberId, r.generation, []);
      last = r.generation;
    }
    expect(last).toBe(secOf(clock) + MAX_EPOCH_LEAD_S);
    expect(await codeOf(t.join(joinArgs(G1, first.memberId)))).toBe('OVERLOADED');
    clock.advance(1_000);
    expect((await t.join(joinArgs(G1, first.memberId))).generation).toBe(last + 1);
  });

  it('after a restore every older generation is fenced and new ones start at the floor', async () => {
    const base = world();
    const t0 = await base.open();
    const a = await stableOne(t0);
    await t0.close();
    const restoredAt = base.clock.now() + 10_000;
    base.clock.advance(20_000);
    const { GroupTable } = await import('../src/group-table.js');
    const { OPTS, LAYOUT } = await import('./helpers.js');
    const t = await GroupTable.open(
      { shard: SHARD, clock: base.clock, layout: LAYOUT, restored: { restoredAt }, timer: base.timers.timer, openJournal: (hooks) => base.disk.open(hooks) },
      OPTS,
    );
    expect(t.generationFloor).toBe(secOf({ now: () => restoredAt }) + MAX_EPOCH_LEAD_S + 1);
    expect(await codeOf(t.heartbeat(G1, a.memberId, a.generation))).toBe('GROUP_ILLEGAL_GENERATION');
    const again = await t.join(joinArgs(G1, a.memberId));
    expect(again.generation).toBe(t.generationFloor);
    await t.close();
  });
});
