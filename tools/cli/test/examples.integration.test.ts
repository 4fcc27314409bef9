/**
 * examples/ end to end: a local fleet of the six services (their main.ts,
 * 127.0.0.1, port 0, shards 0-7), the DLog-style producer and two consumer
 * group members run as processes against it; their output and the offsets
 * the group reads back afterwards are checked.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PharaohClient } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import { killAll, REPO_ROOT, runToExit, startApp, tempDir, type RunningApp } from '@pharaoh/testkit';

const SERVICES = ['tso', 'txcoord', 'session-mgr', 'group-coord', 'schema-registry', 'sequencer'] as const;
const dirs: Array<{ remove(): void }> = [];
afterAll(async () => {
  await killAll();
  for (const d of dirs) d.remove();
});

/** A name whose shard is served (0-7). */
function served(stem: string): string {
  for (let i = 0; i < 1_000_000; i++) if (shardForKey(`${stem}-${i}`) < 8) return `${stem}-${i}`;
  throw new Error('no name');
}

const lines = (out: string): Array<Record<string, unknown>> =>
  out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('examples: a DLog-style producer and a consumer group against a local fleet', () => {
  it('the producer commits batches with increasing timestamps; two consumers split the partitions and their commits read back', { timeout: 240_000 }, async () => {
    const apps = new Map<string, RunningApp>();
    for (const s of SERVICES) {
      const data = tempDir(`pharaoh-example-${s}-`);
      dirs.push(data);
      apps.set(s, await startApp(join(REPO_ROOT, 'apps', s, 'src', 'main.ts'), ['--shards', '0-7', '--data', data.dir, '--port', '0', '--http-port', '0', '--log-level', 'warn'], { name: s }));
    }
    const endpoints = [...apps.values()].map((a) => a.url).join(',');

    const producer = served('example-writer');
    const [subject, partition] = [served('orders-value'), served('orders-p0')];
    const produce = () =>
      runToExit(join(REPO_ROOT, 'examples', 'dlog-producer.ts'), ['--endpoints', endpoints, '--producer', producer, '--batches', '4', '--records', '5', '--subject', subject, '--partition', partition], { timeoutMs: 120_000 });
    const p = await produce();
    expect(p.code, p.stderr).toBe(0);
    const batches = lines(p.stdout);
    expect(batches.at(-1)).toMatchObject({ done: true, producer, batches: 4, version: 1 });
    const commits = batches.filter((b) => 'commitTs' in b);
    expect(commits).toHaveLength(4);
    const lasts = commits.map((b) => BigInt(b['last'] as string));
    for (let i = 1; i < lasts.length; i++) expect(lasts[i]! > lasts[i - 1]!).toBe(true);
    // Dense offsets: 0..19 in batch order; one schema id on every batch.
    expect(commits.map((b) => [b['offset'], b['count']])).toEqual([[0, 5], [5, 5], [10, 5], [15, 5]]);
    expect(new Set(batches.map((b) => b['schemaId'])).size).toBe(1);
    // A second run (a restarted producer): same schema id and version, offsets continue at 20, its old epoch fenced.
    const again = await produce();
    expect(again.code, again.stderr).toBe(0);
    const second = lines(again.stdout);
    expect(second.at(-1)).toMatchObject({ done: true, schemaId: batches.at(-1)!['schemaId'], version: 1 });
    expect(second.filter((b) => 'commitTs' in b)[0]).toMatchObject({ offset: 20, count: 5 });
    expect(second.at(-1)!['epoch'] as number).toBeGreaterThan(batches.at(-1)!['epoch'] as number);

    const group = served('example-indexer');
    const consumer = () =>
      runToExit(join(REPO_ROOT, 'examples', 'dlog-consumer.ts'), ['--endpoints', endpoints, '--group', group, '--topic', 'orders', '--partitions', '4', '--rounds', '12', '--pause-ms', '150'], { timeoutMs: 120_000 });
    const [a, b] = await Promise.all([consumer(), consumer()]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const rounds = [...lines(a.stdout), ...lines(b.stdout)].filter((l) => 'round' in l);
    // At some generation both members were in: their partitions then split 0..3 between them.
    const byGen = new Map<number, Map<string, number[]>>();
    for (const r of rounds) {
      const g = byGen.get(r['generation'] as number) ?? byGen.set(r['generation'] as number, new Map()).get(r['generation'] as number)!;
      g.set(r['memberId'] as string, r['partitions'] as number[]);
    }
    const shared = [...byGen.values()].filter((m) => m.size === 2);
    expect(shared.length).toBeGreaterThan(0);
    for (const m of shared) expect([...m.values()].flat().sort()).toEqual([0, 1, 2, 3]);

    const client = await PharaohClient.connect({ endpoints: endpoints.split(',') });
    try {
      const offsets = await client.groups.fetchOffsets(group);
      expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2, 3]);
      // Each consumer continues a partition from its committed offset, 10 records per commit.
      for (const o of offsets) expect(o.offset % 10 === 0 && o.offset >= 10).toBe(true);
      const reported = new Map<number, number>();
      for (const s of [...lines(a.stdout), ...lines(b.stdout)].filter((l) => l['done'] === true)) {
        for (const [part, off] of Object.entries(s['committed'] as Record<string, number>)) reported.set(Number(part), Math.max(reported.get(Number(part)) ?? 0, off));
      }
      for (const o of offsets) expect(o.offset).toBe(reported.get(o.partition));
    } finally {
      await client.close();
    }
  });
});
