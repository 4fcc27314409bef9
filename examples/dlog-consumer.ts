/**
 * A consumer-group member on the Pharaoh fleet, through `client.groups`:
 * joins the group (the coordinator's `range` assignment over the topic's
 * partitions), "consumes" its partitions by committing increasing offsets
 * for them (durable when the commit resolves), heartbeats between rounds and
 * joins again whenever the group rebalances, then leaves.
 * Prints one JSON line per round, then a summary line.
 *
 *   npx tsx examples/dlog-consumer.ts --endpoints ws://127.0.0.1:7400 --group orders-indexer \
 *     --topic orders --partitions 4 --rounds 10
 */
import { PharaohClient } from '@pharaoh/client';
import { flags, need } from './args.js';

const f = flags(process.argv.slice(2));
const endpoints = need(f, 'endpoints').split(',');
const group = need(f, 'group');
const topic = f.get('topic') ?? 'orders';
const partitions = Number(f.get('partitions') ?? 4);
const rounds = Number(f.get('rounds') ?? 10);
const pauseMs = Number(f.get('pause-ms') ?? 100);

const client = await PharaohClient.connect({ endpoints });
const member = client.groups.member(group, { topics: { [topic]: partitions }, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5_000 });
const committed = new Map<number, number>();
/** After every join: continue each owned partition from its committed offset (another member may have moved it on). */
async function resume(): Promise<void> {
  const mine = member.partitions[topic] ?? [];
  for (const o of await client.groups.fetchOffsets(group, mine.map((partition) => ({ topic, partition })))) committed.set(o.partition, o.offset);
}
try {
  await member.join();
  await resume();
  for (let round = 0; round < rounds; round++) {
    // Consume: here, just advance each owned partition's offset by 10 records.
    const mine = member.partitions[topic] ?? [];
    const offsets = mine.map((p) => ({ topic, partition: p, offset: (committed.get(p) ?? 0) + 10 }));
    if (offsets.length > 0) {
      try {
        await member.commit(offsets);
        for (const o of offsets) committed.set(o.partition, o.offset);
      } catch (err) {
        // A stale generation is fenced: the group moved on; join again and continue.
        if (!['GROUP_ILLEGAL_GENERATION', 'GROUP_REBALANCE_IN_PROGRESS', 'GROUP_UNKNOWN_MEMBER'].includes((err as { code?: string }).code ?? '')) throw err;
      }
    }
    process.stdout.write(`${JSON.stringify({ round, memberId: member.memberId, generation: member.generation, partitions: mine })}\n`);
    await new Promise((r) => setTimeout(r, pauseMs));
    if (!(await member.heartbeat())) {
      await member.join();
      await resume();
    }
  }
  const final = { done: true, memberId: member.memberId, generation: member.generation, partitions: member.partitions[topic] ?? [], committed: Object.fromEntries(committed) };
  await member.leave();
  process.stdout.write(`${JSON.stringify(final)}\n`);
} finally {
  await client.close();
}
