/**
 * Backup and restore with real processes (`pharaoh serve`, `pharaoh backup`,
 * `pharaoh restore`). Fault model: the whole data directory is lost (a dead
 * disk) after the backup, while service went on: more IDs, more decisions,
 * more session epochs that exist nowhere but in the lost data. Invariants
 * checked after the restore: no ID, txId or session ID at or below one issued
 * before the loss; every decision in the backup kept; a transaction decided
 * or begun after the backup answers IN_DOUBT (never a presumed abort); every
 * session epoch issued before the loss is fenced and the next one is above
 * all of them.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { shardForKey } from '@pharaoh/protocol';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { BIN, producerFor, runCli } from './helpers.js';

const SHARDS = '0-3';
const LEAD_MS = 60_000;
const apps: RunningApp[] = [];
const clients: RawClient[] = [];
const scratch = tempDir('pharaoh-backup-');
afterAll(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const a of apps.splice(0)) await stopApp(a);
  scratch.remove();
});

async function serve(service: string, data: string): Promise<{ app: RunningApp; client: RawClient }> {
  // A long lead (60 s), so an ID borrowed from the future outlives the restore below unless the restore raises the bounds past it.
  const args = ['serve', service, '--shards', SHARDS, '--data', data, '--port', '0', '--http-port', '0', '--max-lead-ms', String(LEAD_MS)];
  const app = await startApp(BIN, args, { tsx: false, name: `pharaoh serve ${service}` });
  apps.push(app);
  const client = await RawClient.connect(app.url);
  clients.push(client);
  return { app, client };
}

async function kill(x: { app: RunningApp; client: RawClient }): Promise<void> {
  x.client.ws.terminate();
  await stopApp(x.app, 'SIGKILL');
}

describe('pharaoh backup / restore', () => {
  it('backs up live shards, and a restore after losing the data never reissues an ID, never presumes aborted what may have committed, and fences every earlier epoch', async () => {
    const data = join(scratch.dir, 'data');
    const producer = producerFor(4);
    const home = shardForKey(producer);
    let tso = await serve('tso', data);
    let tx = await serve('txcoord', data);
    let sm = await serve('session-mgr', data);
    const ids: bigint[] = [];
    const tsGet = async (c: RawClient): Promise<void> => {
      for (let shard = 0; shard < 4; shard++) {
        const r = await c.ok<{ first: bigint; count: number }>('ts.get', { shard, count: 10 });
        ids.push(r.first + BigInt(r.count - 1));
      }
    };

    // Before the backup.
    await tsGet(tso.client);
    const a = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    await tx.client.ok('tx.commit', { txId: a.txId });
    const b = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 2 });
    await tx.client.ok('tx.abort', { txId: b.txId });
    const s0 = await sm.client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: home, producer });
    const s1 = await sm.client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: home, producer });
    expect(s1.sessionId).toBe(s0.sessionId);

    // Live backups: the processes keep serving.
    const files: Record<string, string> = {};
    for (const service of ['tso', 'txcoord', 'session-mgr']) {
      files[service] = join(scratch.dir, `${service}.tar`);
      const r = await runCli(['backup', '--service', service, '--data', data, '--out', files[service]!]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`backed up 4 ${service} shard\\(s\\)`));
    }

    // Service goes on after the backup; all of this is then lost with the disk.
    await tsGet(tso.client);
    // An ID borrowed from the future (within the lead): the restore, seconds later, must still resume above it.
    const future = TSO_LAYOUT.encode({ time: TSO_LAYOUT.unitAt(Date.now() + LEAD_MS - 5_000), shard: 0, seq: 0 });
    const ahead = await tso.client.ok<{ first: bigint }>('ts.get', { shard: 0, count: 1, after: future });
    ids.push(ahead.first);
    const c = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    const { commitTs: cTs } = await tx.client.ok<{ commitTs: bigint }>('tx.commit', { txId: c.txId }); // committed, acknowledged, then lost
    const d = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 3 });
    const s2 = await sm.client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: home, producer });
    expect(s2.epoch).toBeGreaterThan(s1.epoch);
    expect(await sm.client.ok('session.validate', { sessionId: s1.sessionId, epoch: s1.epoch })).toEqual({ status: 'FENCED' });
    const txIdsBefore = [a.txId, b.txId, c.txId, d.txId];
    for (const x of [tso, tx, sm]) await kill(x);
    rmSync(data, { recursive: true, force: true });

    // Restore every service, then start them again on the restored data.
    // A tso process that was not restored (another fleet's data dir), up before the restore.
    const other = await serve('tso', join(scratch.dir, 'other'));
    // tso last, served at once: its restored shards' bounds are then furthest ahead of the clock.
    for (const service of ['session-mgr', 'txcoord', 'tso']) {
      const r = await runCli(['restore', '--from', files[service]!, '--data', data, '--service', service, '--max-lead-ms', String(LEAD_MS)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/restored 4 .* shard\(s\)/);
    }
    // A second restore over the restored shards is refused, not merged.
    const again = await runCli(['restore', '--from', files.tso!, '--data', data]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/refusing to restore .* exist already/);

    tso = await serve('tso', data);
    // A restored shard serves only once its IDs are within the lead: an `after` taken from one is accepted by a shard
    // that was not restored (without the start's wait they led the clock by window + lead + skew + 1 s: refused).
    const first = await tso.client.ok<{ first: bigint }>('ts.get', { shard: 0, count: 1 });
    for (let shard = 0; shard < 4; shard++) expect((await other.client.ok<{ first: bigint }>('ts.get', { shard, count: 1, after: first.first })).first).toBeGreaterThan(first.first);
    await kill(other);
    tx = await serve('txcoord', data);
    sm = await serve('session-mgr', data);

    // 1. IDs: every shard resumes above every ID issued before the loss, also the lost ones.
    const maxBefore = ids.reduce((m, x) => (x > m ? x : m), 0n);
    for (let shard = 0; shard < 4; shard++) {
      const r = await tso.client.ok<{ first: bigint }>('ts.get', { shard, count: 1 });
      expect(r.first).toBeGreaterThan(maxBefore);
    }
    const e = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    for (const t of txIdsBefore) expect(e.txId).toBeGreaterThan(t);
    expect((await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 2, after: e.txId })).txId).toBeGreaterThan(e.txId);

    // 2. Decisions: those in the backup kept; those after it in doubt, never presumed aborted.
    expect(await tx.client.ok('tx.status', { txId: a.txId })).toEqual({ status: 'COMMITTED' });
    expect(await tx.client.ok('tx.status', { txId: b.txId })).toEqual({ status: 'ABORTED' });
    expect(await tx.client.ok('tx.status', { txId: c.txId })).toEqual({ status: 'IN_DOUBT' });
    expect(await tx.client.ok('tx.status', { txId: d.txId })).toEqual({ status: 'IN_DOUBT' });
    expect((await tx.client.request('tx.commit', { txId: c.txId })).err?.code).toBe('TX_IN_DOUBT');
    expect((await tx.client.request('tx.abort', { txId: d.txId })).err?.code).toBe('TX_IN_DOUBT');
    expect(await tx.client.ok('tx.commit', { txId: e.txId })).toHaveProperty('commitTs');
    // An operator resolves them from the participants' records (tx.resolve, admin): then they answer like any decision.
    expect(await tx.client.ok('tx.resolve', { txId: c.txId, commit: true, commitTs: cTs })).toEqual({ status: 'COMMITTED' });
    expect(await tx.client.ok('tx.resolve', { txId: d.txId, commit: false })).toEqual({ status: 'ABORTED' });
    expect(await tx.client.ok('tx.commit', { txId: c.txId })).toEqual({ commitTs: cTs });
    const live = await tx.client.ok<{ txId: bigint }>('tx.begin', { shard: 2 });
    expect((await tx.client.request('tx.resolve', { txId: live.txId, commit: false })).err?.code).toBe('TX_NOT_IN_DOUBT');

    // 3. Epochs: every epoch issued before the loss fenced, the next one above all of them.
    for (const s of [s0, s1, s2]) expect(await sm.client.ok('session.validate', { sessionId: s.sessionId, epoch: s.epoch })).toEqual({ status: 'FENCED' });
    const s3 = await sm.client.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard: home, producer });
    expect(s3.sessionId).toBe(s0.sessionId);
    expect(s3.epoch).toBeGreaterThan(s2.epoch);
    expect(await sm.client.ok('session.validate', { sessionId: s3.sessionId, epoch: s3.epoch })).toEqual({ status: 'OK' });
  });

  it('refuses a file that is not a backup, and a backup of another service, with a clear message', async () => {
    const notTar = join(scratch.dir, 'not-a-backup');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(notTar, 'hello');
    const r = await runCli(['restore', '--from', notTar, '--data', join(scratch.dir, 'other')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not (a Pharaoh|a readable) backup/);
    const missing = await runCli(['restore', '--from', join(scratch.dir, 'missing.tar'), '--data', join(scratch.dir, 'other')]);
    expect(missing.stderr).toMatch(/no backup file at/);
    const nothing = await runCli(['backup', '--service', 'tso', '--data', join(scratch.dir, 'empty'), '--out', join(scratch.dir, 'x.tar')]);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toMatch(/nothing to back up/);
    const bad = await runCli(['backup', '--service', 'nope', '--data', scratch.dir, '--out', join(scratch.dir, 'x.tar')]);
    expect(bad.stderr).toMatch(/unknown service "nope"/);
  });
});
