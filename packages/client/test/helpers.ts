import { shardForKey, type ShardRanges } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/registry';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { expect } from 'vitest';
import { PharaohClient, type ClientOptions, type StatusEvent } from '../src/index.js';
import { FakeNode, type FakeNodeOptions } from './fake-node.js';
import { FakeTransport, ManualClock } from './fakes.js';

export interface Rig {
  transport: FakeTransport;
  clock: ManualClock;
  nodes: Map<string, FakeNode>;
  events: StatusEvent[];
  client: PharaohClient;
}

/** Start fake nodes at `ws://fake-<i>` and connect a client to all of them. */
export async function rig(
  specs: Array<{ service: ServiceName; shards: ShardRanges } & Partial<FakeNodeOptions>>,
  opts: ClientOptions = {},
): Promise<Rig> {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const nodes = new Map<string, FakeNode>();
  specs.forEach((s, i) => {
    const node = new FakeNode(s);
    nodes.set(`ws://fake-${i}`, node);
    transport.add(`ws://fake-${i}`, node);
  });
  const client = await PharaohClient.connect(
    { endpoints: [...nodes.keys()] },
    { transport, clock, random: () => 0.5, ...opts },
  );
  const events: StatusEvent[] = [];
  client.on('status', (e) => events.push(e));
  return { transport, clock, nodes, events, client };
}

/** Requests of one op that reached a node. */
export function sent(node: FakeNode, op: string): Array<Record<string, unknown>> {
  return node.requests.filter((r) => r.op === op);
}

/** The invariants every test keeps: no ID twice; per shard, IDs increase in the order given (issue order). */
export function checkIds(ids: bigint[]): void {
  expect(new Set(ids).size).toBe(ids.length);
  const lastPerShard = new Map<number, bigint>();
  for (const id of ids) {
    const s = TSO_LAYOUT.shardOf(id);
    const prev = lastPerShard.get(s);
    if (prev !== undefined && !(id > prev)) throw new Error(`shard ${s}: ${id} issued after ${prev}`);
    lastPerShard.set(s, id);
  }
}

export function expectIncreasing(ids: bigint[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i]! > ids[i - 1]!)) throw new Error(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

/** A key whose shard is `shard` (searching small integers as strings). */
export function keyFor(shard: number): string {
  for (let i = 0; i < 1_000_000; i++) if (shardForKey(`k${i}`) === shard) return `k${i}`;
  throw new Error(`no key for shard ${shard}`);
}
