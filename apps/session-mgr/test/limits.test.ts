import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import { TestScope } from '@pharaoh/testkit';
import { sessionService } from '../src/index.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('session-mgr limits over the wire', () => {
  it('answers OVERLOADED past maxSessions live sessions on a shard, and opens again after a close', async () => {
    const server = scope.closeLater(await startServer(sessionService, { shards: '0-1', dataDir: scope.tempDir('pharaoh-sesslimits-'), port: 0, httpPort: 0, logLevel: 'silent', app: { maxSessions: 2 } }));
    const c = await scope.connect(server.url);
    const a = await c.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: 0 });
    await c.request('session.open', { shard: 0 });
    expect((await c.request('session.open', { shard: 0 })).err).toMatchObject({ code: 'OVERLOADED' });
    expect((await c.request('session.open', { shard: 1 })).ok).toBeDefined(); // the limit is per shard
    expect((await c.request('session.close', { sessionId: a.sessionId, epoch: a.epoch })).ok).toBeDefined();
    expect((await c.request('session.open', { shard: 0 })).ok).toBeDefined();
  });
});
