/**
 * group-coord as a real process (its main.ts, 127.0.0.1, port 0), driven
 * through PharaohClient's `client.groups` and a raw WebSocket client.
 * Fault model of the restart test: process death (SIGKILL) in the middle of
 * commits; checked: every acknowledged commit reads back, the next
 * generation is above every one handed out, a stale generation stays fenced.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GroupIllegalGenerationError, GroupUnknownMemberError, PharaohClient, parseAssignment, subscription } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import { DataDirApp, killAll, REPO_ROOT } from '@pharaoh/testkit';

const MAIN = join(REPO_ROOT, 'apps/group-coord/src/main.ts');
const ARGS = ['--port', '0', '--http-port', '0', '--shards', '0-3', '--sweep-interval-ms', '50', '--join-wait-ms', '300', '--min-session-timeout-ms', '200', '--log-level', 'warn'];

function groupFor(shard: number, prefix: string): string {
  for (let i = 0; i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) return `${prefix}-${i}`;
  throw new Error('no name');
}

const node = new DataDirApp(MAIN, ARGS, 'group-it-');
afterAll(killAll);
afterEach(() => node.cleanup());

async function connect(): Promise<PharaohClient> {
  return PharaohClient.connect({ endpoints: [node.app!.url] }, { timeoutMs: 5_000 });
}

const TIMEOUTS = { sessionTimeoutMs: 5_000, rebalanceTimeoutMs: 3_000 };

describe('group-coord over WebSocket', () => {
  it('two consumers rebalance onto disjoint range assignments, commit, and an old generation is fenced', async () => {
    await node.start();
    const client = await connect();
    try {
      const group = groupFor(1, 'it-orders');
      const a = client.groups.member(group, { ...TIMEOUTS, topics: { orders: 4 } });
      const b = client.groups.member(group, { ...TIMEOUTS, topics: { orders: 4 } });
      await a.join();
      expect(a.partitions).toEqual({ orders: [0, 1, 2, 3] });
      const first = { memberId: a.memberId!, generation: a.generation };
      const bJoined = b.join();
      // a learns of the rebalance from its heartbeat, then joins again.
      let beats = 0;
      while ((await a.heartbeat()) && beats++ < 100) await new Promise((r) => setTimeout(r, 20));
      await Promise.all([a.join(), bJoined]);
      expect(a.generation).toBe(b.generation);
      expect(a.generation).toBeGreaterThan(first.generation);
      const all = [...a.partitions['orders']!, ...b.partitions['orders']!].sort();
      expect(all).toEqual([0, 1, 2, 3]);
      await a.commit([{ topic: 'orders', partition: a.partitions['orders']![0]!, offset: 100, metadata: 'a' }]);
      await b.commit([{ topic: 'orders', partition: b.partitions['orders']![0]!, offset: 200 }]);
      const read = await client.groups.fetchOffsets(group);
      expect(read.map((o) => o.offset).sort()).toEqual([100, 200]);
      await expect(client.groups.commitOffsets(group, first, [{ topic: 'orders', partition: 0, offset: 1 }])).rejects.toBeInstanceOf(GroupIllegalGenerationError);
      await b.leave();
      await expect(client.groups.heartbeat(group, { memberId: b.memberId ?? 'gone', generation: a.generation })).rejects.toBeInstanceOf(GroupUnknownMemberError);
      expect(await a.heartbeat()).toBe(false);
      await a.join();
      expect(a.partitions).toEqual({ orders: [0, 1, 2, 3] });
    } finally {
      await client.close();
    }
  });

  it('a custom protocol: the leader computes and sends the assignments; a follower waits for them', async () => {
    await node.start();
    const client = await connect();
    try {
      const group = groupFor(2, 'it-custom');
      const proto = (tag: string) => [{ name: 'mine', metadata: new TextEncoder().encode(tag) }];
      const assign = (members: Array<{ memberId: string; metadata: Uint8Array }>) =>
        members.map((m) => ({ memberId: m.memberId, assignment: new TextEncoder().encode(`for ${new TextDecoder().decode(m.metadata)}`) }));
      const a = client.groups.member(group, { ...TIMEOUTS, protocols: proto('a'), assign });
      const b = client.groups.member(group, { ...TIMEOUTS, protocols: proto('b'), assign });
      await a.join();
      const bJoined = b.join();
      while (await a.heartbeat()) await new Promise((r) => setTimeout(r, 20));
      await Promise.all([a.join(), bJoined]);
      expect(new TextDecoder().decode(a.assignment)).toBe('for a');
      expect(new TextDecoder().decode(b.assignment)).toBe('for b');
      expect(a.leader).toBe(a.memberId);
    } finally {
      await client.close();
    }
  });

  it('removes a member that stops heartbeating (by the sweep timer), and answers bad input with BAD_REQUEST', async () => {
    const raw = await node.start();
    const group = groupFor(3, 'it-expire');
    const j = await raw.ok<{ memberId: string; generation: number }>('group.join', {
      shard: 3, group, protocols: [{ name: 'range', metadata: subscription({ t: 1 }) }], sessionTimeoutMs: 300, rebalanceTimeoutMs: 300,
    });
    expect(await raw.ok('group.heartbeat', { shard: 3, group, member: j.memberId, generation: j.generation })).toEqual({});
    // Polled with sync (a heartbeat would keep it alive): the sweep removes it once 300 ms pass without one.
    let code: string | undefined;
    for (let i = 0; i < 100 && code === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      code = (await raw.request('group.sync', { shard: 3, group, member: j.memberId, generation: j.generation })).err?.code;
    }
    expect(code).toBe('GROUP_UNKNOWN_MEMBER');
    const bad = async (args: Record<string, unknown>) => (await raw.request('group.join', { shard: 3, group, sessionTimeoutMs: 1_000, rebalanceTimeoutMs: 1_000, ...args })).err;
    expect(await bad({ protocols: [] })).toMatchObject({ code: 'BAD_REQUEST', field: 'protocols' });
    expect(await bad({ protocols: [{ name: 'range', metadata: 'not bin' }] })).toMatchObject({ code: 'BAD_REQUEST', field: 'protocols[0].metadata' });
    expect(await bad({ protocols: [{ name: 'range', metadata: new TextEncoder().encode('{') }] })).toMatchObject({ code: 'BAD_REQUEST', field: 'protocols[range].metadata' });
    expect(await bad({ protocols: [{ name: 'x', metadata: new Uint8Array() }], sessionTimeoutMs: 10_000_000 })).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await raw.request('group.join', { shard: 0, group, protocols: [{ name: 'x', metadata: new Uint8Array() }], sessionTimeoutMs: 1_000, rebalanceTimeoutMs: 1_000 })).err).toMatchObject({ code: 'NOT_OWNER', shard: 3 });
    expect((await raw.request('group.commitOffsets', { shard: 3, group, member: 'm', generation: 1, offsets: [{ topic: 't', partition: -1, offset: 0 }] })).err).toMatchObject({ code: 'BAD_REQUEST', field: 'offsets[0].partition' });
    expect((await raw.request('group.fetchOffsets', { shard: 3, group })).ok).toEqual({ offsets: [] });
  });
});

describe('group-coord across a SIGKILL', () => {
  it('keeps every acknowledged commit and generation; the next generation is higher and the old one stays fenced', async () => {
    await node.start();
    let client = await connect();
    const group = groupFor(0, 'it-kill');
    const m = client.groups.member(group, { ...TIMEOUTS, topics: { t: 2 } });
    await m.join();
    const before = { memberId: m.memberId!, generation: m.generation };
    const acked = new Map<number, number>();
    let stop = false;
    const committer = (async () => {
      for (let i = 1; !stop && i < 100_000; i++) {
        const p = i % 2;
        try {
          await m.commit([{ topic: 't', partition: p, offset: i }]);
        } catch {
          return;
        }
        acked.set(p, i);
      }
    })();
    for (let i = 0; i < 200 && acked.size < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await node.stop('SIGKILL');
    stop = true;
    await committer;
    await client.close();
    expect(acked.size).toBe(2);

    await node.start();
    client = await connect();
    try {
      const read = new Map((await client.groups.fetchOffsets(group)).map((o) => [o.partition, o.offset]));
      for (const [p, off] of acked) expect(read.get(p)).toBeGreaterThanOrEqual(off);
      // The member is still in the generation after the restart (a fresh session timeout).
      await client.groups.heartbeat(group, before);
      const again = client.groups.member(group, { ...TIMEOUTS, topics: { t: 2 } });
      again.memberId = before.memberId;
      await again.join();
      expect(again.generation).toBeGreaterThan(before.generation);
      expect(parseAssignment(again.assignment)).toEqual({ t: [0, 1] });
      await expect(client.groups.commitOffsets(group, before, [{ topic: 't', partition: 0, offset: 1 }])).rejects.toBeInstanceOf(GroupIllegalGenerationError);
    } finally {
      await client.close();
    }
  });
});
