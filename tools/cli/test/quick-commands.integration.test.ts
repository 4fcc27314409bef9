/**
 * The quick commands of the newer services against real processes (their
 * `pharaoh serve`, 127.0.0.1, port 0, all 1024 shards): `offsets assign`,
 * `cdc next`, `schema register|get|latest`, `group offsets`, and their
 * refusals of bad arguments.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PharaohClient } from '@pharaoh/client';
import { killAll, startApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { BIN, runCli } from './helpers.js';

const scratch = tempDir('pharaoh-quick-');
afterAll(async () => {
  await killAll();
  scratch.remove();
});

async function serve(service: string): Promise<RunningApp> {
  return startApp(BIN, ['serve', service, '--shards', '0-1023', '--data', join(scratch.dir, service), '--port', '0', '--http-port', '0', '--log-level', 'warn'], { tsx: false, name: service });
}

describe('quick commands of group-coord, schema-registry and the sequencer', () => {
  it('assign dense offsets, hand out CDC ids, register and show schemas, list committed offsets; bad arguments get clear refusals', { timeout: 180_000 }, async () => {
    const [seq, reg, grp] = [await serve('sequencer'), await serve('schema-registry'), await serve('group-coord')];

    const a = await runCli(['offsets', 'assign', 'orders-0', '--count', '10', '--endpoint', seq.url]);
    expect(a).toMatchObject({ code: 0, stdout: 'first 0\ncount 10\n' });
    expect((await runCli(['offsets', 'assign', 'orders-0', '--endpoint', seq.url])).stdout).toBe('first 10\ncount 1\n');
    const cdc = await runCli(['cdc', 'next', 'customers', '--count', '3', '--endpoint', seq.url]);
    expect(cdc.code, cdc.stderr).toBe(0);
    const ids = cdc.stdout.trim().split('\n').map(BigInt);
    expect(ids).toHaveLength(3);
    expect(ids[1]! > ids[0]! && ids[2]! > ids[1]!).toBe(true);
    expect((await runCli(['offsets', 'assign', 'orders-0', '--count', '0', '--endpoint', seq.url])).code).not.toBe(0);
    // A keyed op called without --key: the server's NOT_OWNER names the partition's shard, and the client goes there.
    const noKey = await runCli(['call', 'sequencer', 'offsets.assign', 'partition=orders-0', 'count=5', '--endpoint', seq.url]);
    expect(noKey, noKey.stderr).toMatchObject({ code: 0, stdout: '{"first":11,"count":5}\n' });

    const file = join(scratch.dir, 'order.json');
    writeFileSync(file, '{ "type": "object",  "title": "Order" }');
    const r1 = await runCli(['schema', 'register', '--subject', 'orders-value', '--format', 'json', '--file', file, '--endpoint', reg.url]);
    expect(r1.code, r1.stderr).toBe(0);
    const [, schemaId] = /^schemaId (\d+)\nversion 1\n$/.exec(r1.stdout)!;
    // The same schema in another spelling (JSON canonical form): the same id and version.
    const r2 = await runCli(['schema', 'register', '--subject', 'orders-value', '--format', 'JSON', '--schema', '{"title":"Order","type":"object"}', '--endpoint', reg.url]);
    expect(r2.stdout).toBe(`schemaId ${schemaId}\nversion 1\n`);
    const got = await runCli(['schema', 'get', schemaId!, '--endpoint', reg.url]);
    expect(got.stdout).toBe(`schemaId ${schemaId}\nsubject orders-value\nversion 1\nformat JSON\n{ "type": "object",  "title": "Order" }\n`);
    expect((await runCli(['schema', 'latest', 'orders-value', '--endpoint', reg.url])).stdout).toContain(`schemaId ${schemaId}\nsubject orders-value\nversion 1\n`);
    const badFormat = await runCli(['schema', 'register', '--subject', 's', '--format', 'xml', '--schema', 'x', '--endpoint', reg.url]);
    expect(badFormat.code).not.toBe(0);
    expect(badFormat.stderr).toMatch(/--format must be one of AVRO, PROTOBUF, JSON, got "xml"/);
    expect((await runCli(['schema', 'register', '--subject', 's', '--format', 'json', '--endpoint', reg.url])).stderr).toMatch(/exactly one of --schema <text> or --file <path>/);
    const missing = await runCli(['schema', 'latest', 'no-such-subject', '--endpoint', reg.url]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/SCHEMA_NOT_FOUND|no such subject|not found/i);

    expect((await runCli(['group', 'offsets', 'indexer', '--endpoint', grp.url])).stdout).toBe('(no committed offsets)\n');
    const client = await PharaohClient.connect({ endpoints: [grp.url] });
    try {
      const member = client.groups.member('indexer', { topics: { orders: 2 }, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5_000 });
      await member.join();
      await member.commit([{ topic: 'orders', partition: 0, offset: 42 }, { topic: 'orders', partition: 1, offset: 7 }]);
      await member.leave();
    } finally {
      await client.close();
    }
    expect((await runCli(['group', 'offsets', 'indexer', '--endpoint', grp.url])).stdout).toBe('orders 0 42\norders 1 7\n');
  });
});
