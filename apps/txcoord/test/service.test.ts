import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { TestScope } from '@pharaoh/testkit';
import { txcoordService } from '../src/service.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('txcoordService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep deciding', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const server = scope.closeLater(await startServer(txcoordService, { shards: '0-1', dataDir, logLevel: 'silent', fs }));
    const client = await scope.connect(server.url);
    const ok = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    expect(await client.ok('tx.commit', { txId: ok.txId })).toHaveProperty('commitTs');

    const doomed = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    fs.injectFault({ op: 'datasync', code: 'EIO' }); // the next fdatasync is shard 0's: only it is busy
    expect((await client.request('tx.commit', { txId: doomed.txId })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('tx.status', { txId: ok.txId })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('tx.begin', { shard: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');

    const other = await client.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    expect(await client.ok('tx.commit', { txId: other.txId })).toHaveProperty('commitTs');
  });

  it('refuses to open a shard that has issued IDs before when its journal is gone, creating nothing', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const first = await startServer(txcoordService, { shards: '0', dataDir, logLevel: 'silent', fs });
    const client = await scope.connect(first.url);
    const tx = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    await client.ok('tx.commit', { txId: tx.txId });
    await client.close();
    await first.close();
    // The journal's log is lost (as a power cut took it before the journal directory was made durable).
    const journal = `${dataDir}/txcoord/shard-0/journal`;
    await fs.rename(`${journal}/journal.log`, `${journal}/lost`);

    const err = await startServer(txcoordService, { shards: '0', dataDir, logLevel: 'silent', fs }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SHARD_OPEN_FAILED', cause: { code: 'JOURNAL_MISSING' } });
    expect((err as Error).message).toMatch(/issued IDs before/);
    expect(fs.list(journal)).toEqual(['journal.lock', 'lost']);
  });
});
