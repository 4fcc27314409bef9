import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedJournalFs } from '@pharaoh/journal';
import { startServer } from '@pharaoh/server';
import { TestScope } from '@pharaoh/testkit';
import { sessionService } from '../src/service.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('sessionService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep opening sessions', async () => {
    const journalFs = new SimulatedJournalFs();
    const server = scope.closeLater(await startServer(sessionService, { shards: '0-1', dataDir: scope.tempDir('session-svc-'), logLevel: 'silent', app: { journalFs } }));
    const client = await scope.connect(server.url);
    const s = await client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: 0 });
    expect(await client.ok('session.validate', { sessionId: s.sessionId, epoch: 0 })).toEqual({ status: 'OK' });

    journalFs.injectFault({ op: 'datasync', code: 'EIO' });
    expect((await client.request('session.open', { shard: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('session.validate', { sessionId: s.sessionId, epoch: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');

    const other = await client.ok<{ sessionId: bigint }>('session.open', { shard: 1 });
    expect(await client.ok('session.validate', { sessionId: other.sessionId, epoch: 0 })).toEqual({ status: 'OK' });
  });
});
