import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import type { RunningServer } from '@pharaoh/server';
import { RawClient } from '@pharaoh/testkit';
import { txcoordService } from '../src/index.js';

let server: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('txcoord limits over the wire', () => {
  it('answers OVERLOADED past maxOpenTx undecided transactions on a shard, and takes begins again after a decision', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharaoh-txlimits-'));
    server = await startServer(txcoordService, { shards: '0-1', dataDir: dir, port: 0, httpPort: 0, logLevel: 'silent', app: { maxOpenTx: 2 } });
    const c = await RawClient.connect(server.url);
    const a = await c.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    await c.request('tx.begin', { shard: 0 });
    expect((await c.request('tx.begin', { shard: 0 })).err).toMatchObject({ code: 'OVERLOADED' });
    expect((await c.request('tx.begin', { shard: 1 })).ok).toBeDefined(); // the limit is per shard
    expect((await c.request('tx.commit', { txId: a.txId })).ok).toBeDefined();
    expect((await c.request('tx.begin', { shard: 0 })).ok).toBeDefined();
    c.terminate();
  });
});
