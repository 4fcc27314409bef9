import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { TestScope } from '@pharaoh/testkit';
import { sessionService } from '../src/service.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('sessionService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep opening sessions', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const server = scope.closeLater(await startServer(sessionService, { shards: '0-1', dataDir, logLevel: 'silent', fs }));
    const client = await scope.connect(server.url);
    const s = await client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: 0 });
    expect(await client.ok('session.validate', { sessionId: s.sessionId, epoch: 0 })).toEqual({ status: 'OK' });

    fs.injectFault({ op: 'datasync', code: 'EIO' }); // the next fdatasync is shard 0's: only it is busy
    expect((await client.request('session.open', { shard: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('session.validate', { sessionId: s.sessionId, epoch: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');

    const other = await client.ok<{ sessionId: bigint }>('session.open', { shard: 1 });
    expect(await client.ok('session.validate', { sessionId: other.sessionId, epoch: 0 })).toEqual({ status: 'OK' });
  });

  it('refuses to open a shard that has issued IDs before when its journal is gone, creating nothing', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const first = await startServer(sessionService, { shards: '0', dataDir, logLevel: 'silent', fs });
    const client = await scope.connect(first.url);
    await client.ok('session.open', { shard: 0 });
    await client.close();
    await first.close();
    // The journal's log is lost (as a power cut took it before the journal directory was made durable).
    const journal = `${dataDir}/session-mgr/shard-0/journal`;
    await fs.rename(`${journal}/journal.log`, `${journal}/lost`);

    const err = await startServer(sessionService, { shards: '0', dataDir, logLevel: 'silent', fs }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SHARD_OPEN_FAILED', cause: { code: 'JOURNAL_MISSING' } });
    expect((err as Error).message).toMatch(/issued IDs before/);
    expect(fs.list(journal)).toEqual(['journal.lock', 'lost']);
  });
});
