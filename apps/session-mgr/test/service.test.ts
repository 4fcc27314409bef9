import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedJournalFs } from '@pharaoh/journal';
import { startServer, type RunningServer } from '@pharaoh/server';
import { RawClient } from '@pharaoh/testkit';
import { sessionService } from '../src/service.js';

let server: RunningServer | undefined;
let client: RawClient | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  client?.terminate();
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  client = server = dataDir = undefined;
});

describe('sessionService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the others keep opening sessions', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'session-svc-'));
    const journalFs = new SimulatedJournalFs();
    server = await startServer(sessionService, { shards: '0-1', dataDir, logLevel: 'silent', app: { journalFs } });
    client = await RawClient.connect(server.url);
    const s = await client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: 0 });
    expect(await client.ok('session.validate', { sessionId: s.sessionId, epoch: 0 })).toEqual({ status: 'OK' });

    journalFs.injectFault({ op: 'datasync', code: 'EIO' });
    expect((await client.request('session.open', { shard: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('session.validate', { sessionId: s.sessionId, epoch: 0 })).err?.code).toBe('SHARD_UNAVAILABLE');

    const other = await client.ok<{ sessionId: bigint }>('session.open', { shard: 1 });
    expect(await client.ok('session.validate', { sessionId: other.sessionId, epoch: 0 })).toEqual({ status: 'OK' });
  });
});
