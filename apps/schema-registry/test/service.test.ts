import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '@pharaoh/server';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { TestScope } from '@pharaoh/testkit';
import { schemaService } from '../src/service.js';
import { subjectsFor } from './helpers.js';

const scope = new TestScope();
afterEach(() => scope.cleanup());

describe('schemaService in the shard host', () => {
  it('marks only the shard whose journal failed unavailable; the other keeps registering', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const server = scope.closeLater(await startServer(schemaService, { shards: '0-1', dataDir, logLevel: 'silent', fs }));
    const client = await scope.connect(server.url);
    const [s0] = subjectsFor(0, 1, 'svc');
    const [s1] = subjectsFor(1, 1, 'svc');
    const a = await client.ok<{ schemaId: bigint }>('schema.register', { shard: 0, subject: s0, schema: '{"a":1}', format: 'JSON' });

    fs.injectFault({ op: 'datasync', code: 'EIO' }); // the next fdatasync is shard 0's: only it is busy
    expect((await client.request('schema.register', { shard: 0, subject: s0, schema: '{"a":2}', format: 'JSON' })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await client.request('schema.get', { schemaId: a.schemaId })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect(await client.ok('schema.register', { shard: 1, subject: s1, schema: '{"b":1}', format: 'JSON' })).toMatchObject({ version: 1 });
  });

  it('refuses to open a shard that has issued ids before when its journal is gone', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const first = await startServer(schemaService, { shards: '0', dataDir, logLevel: 'silent', fs });
    const client = await scope.connect(first.url);
    await client.ok('schema.register', { shard: 0, subject: subjectsFor(0, 1, 'svc')[0], schema: '{}', format: 'JSON' });
    await client.close();
    await first.close();
    const journal = `${dataDir}/schema-registry/shard-0/journal`;
    await fs.rename(`${journal}/journal.log`, `${journal}/lost`);
    const err = await startServer(schemaService, { shards: '0', dataDir, logLevel: 'silent', fs }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SHARD_OPEN_FAILED', cause: { code: 'JOURNAL_MISSING' } });
  });
});
