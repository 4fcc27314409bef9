import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedJournalFs } from '@pharaoh/journal';
import { startServer, type RunningServer } from '@pharaoh/server';
import { RawClient } from '@pharaoh/testkit';
import { txcoordService } from '../src/service.js';

let server: RunningServer | undefined;
let client: RawClient | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  client?.terminate();
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  client = server = dataDir = undefined;
});

describe('txcoordService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep deciding', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'txcoord-svc-'));
    const journalFs = new SimulatedJournalFs();
    server = await startServer(txcoordService, { shards: '0-1', dataDir, logLevel: 'silent', app: { journalFs } });
    client = await RawClient.connect(server.url);
    const ok = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    expect(await client.ok('tx.commit', { txId: ok.txId })).toHaveProperty('commitTs');

    const doomed = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    journalFs.injectFault({ op: 'datasync', code: 'EIO' });
    expect((await client.request('tx.commit', { txId: doomed.txId })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('tx.status', { txId: ok.txId })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('tx.begin', { shard: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');

    const other = await client.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    expect(await client.ok('tx.commit', { txId: other.txId })).toHaveProperty('commitTs');
  });
});
