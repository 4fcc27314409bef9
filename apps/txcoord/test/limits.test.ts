import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import { TestScope } from '@pharaoh/testkit';
import { txcoordService } from '../src/index.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('txcoord limits over the wire', () => {
  it('answers OVERLOADED past maxOpenTx undecided transactions on a shard, and takes begins again after a decision', async () => {
    const server = scope.closeLater(await startServer(txcoordService, { shards: '0-1', dataDir: scope.tempDir('pharaoh-txlimits-'), port: 0, httpPort: 0, logLevel: 'silent', app: { maxOpenTx: 2 } }));
    const c = await scope.connect(server.url);
    const a = await c.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    await c.request('tx.begin', { shard: 0 });
    expect((await c.request('tx.begin', { shard: 0 })).err).toMatchObject({ code: 'OVERLOADED' });
    expect((await c.request('tx.begin', { shard: 1 })).ok).toBeDefined(); // the limit is per shard
    expect((await c.request('tx.commit', { txId: a.txId })).ok).toBeDefined();
    expect((await c.request('tx.begin', { shard: 0 })).ok).toBeDefined();
  });
});
