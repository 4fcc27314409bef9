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

  it('reopens a shard failed by a full disk by itself once space is back, keeping every decision it acknowledged', async () => {
    const dataDir = '/data';
    const fs = new SimulatedFs({ dirs: [dataDir] });
    const server = scope.closeLater(
      await startServer(txcoordService, { shards: '0-1', dataDir, logLevel: 'silent', fs, httpPort: 0, reopenBackoff: { minMs: 20, maxMs: 100 } }),
    );
    const ready = async (): Promise<{ status: number; unavailable: number[] }> => {
      const res = await fetch(`${server.httpUrl}/readyz`);
      return { status: res.status, unavailable: ((await res.json()) as { unavailable: number[] }).unavailable };
    };
    const client = await scope.connect(server.url);
    const acked = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    const commit = await client.ok<{ commitTs: bigint }>('tx.commit', { txId: acked.txId });

    const pending = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    fs.injectFault({ op: 'write', code: 'ENOSPC', times: Infinity }); // the disk is full
    expect((await client.request('tx.commit', { txId: pending.txId })).err?.code).toBe('SHARD_UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 300)); // several reopen attempts, each failing on the full disk
    expect(await ready()).toEqual({ status: 503, unavailable: [0] });
    expect((await client.request('tx.status', { txId: acked.txId })).err?.code).toBe('SHARD_UNAVAILABLE');

    fs.clearFaults(); // space freed
    const deadline = Date.now() + 5_000;
    while ((await ready()).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await ready()).toEqual({ status: 200, unavailable: [] });
    expect(await client.ok('tx.status', { txId: acked.txId })).toEqual({ status: 'COMMITTED' });
    expect(commit.commitTs).toBeGreaterThan(0n);
    const next = await client.ok<{ txId: bigint }>('tx.begin', { shard: 0 });
    expect(next.txId).toBeGreaterThan(acked.txId);
    expect(await client.ok('tx.commit', { txId: next.txId })).toHaveProperty('commitTs');
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
