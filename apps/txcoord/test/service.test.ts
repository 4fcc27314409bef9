import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedJournalFs } from '@pharaoh/journal';
import { startServer } from '@pharaoh/server';
import { TestScope } from '@pharaoh/testkit';
import { txcoordService } from '../src/service.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('txcoordService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep deciding', async () => {
    const journalFs = new SimulatedJournalFs();
    const server = scope.closeLater(await startServer(txcoordService, { shards: '0-1', dataDir: scope.tempDir('txcoord-svc-'), logLevel: 'silent', app: { journalFs } }));
    const client = await scope.connect(server.url);
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
