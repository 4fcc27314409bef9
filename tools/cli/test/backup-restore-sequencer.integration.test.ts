/**
 * Backup and restore of the sequencer with real processes (`pharaoh serve
 * sequencer`, `pharaoh backup`, `pharaoh restore`). Fault model: the whole
 * data directory is lost (a dead disk) after the backup, while service went
 * on: more offsets and CDC ids that exist nowhere but in the lost data.
 * Invariants checked after the restore: no partition hands out an offset at
 * or below one handed out before the loss (it resumes exactly at the
 * documented restore floor, ceiling(issuedBeforeMs), and is dense from
 * there), a partition unknown to the backup too; until the clock passes
 * issuedBeforeMs a restored partition answers OVERLOADED, never a lower
 * offset; no CDC id at or below one issued before the loss.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SEQUENCER } from '@pharaoh/registry';
import { ceilingAt } from '@pharaoh/sequencer';
import { RawClient, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { BIN, runCli } from './helpers.js';

const SHARDS = 4;
const apps: RunningApp[] = [];
const clients: RawClient[] = [];
const scratch = tempDir('pharaoh-backup-seq-');
afterAll(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const a of apps.splice(0)) await stopApp(a);
  scratch.remove();
});

async function serve(data: string): Promise<{ app: RunningApp; client: RawClient }> {
  const app = await startApp(BIN, ['serve', 'sequencer', '--shards', `0-${SHARDS - 1}`, '--data', data, '--port', '0', '--http-port', '0'], { tsx: false, name: 'pharaoh serve sequencer' });
  apps.push(app);
  const client = await RawClient.connect(app.url);
  clients.push(client);
  return { app, client };
}

/** A key of `prefix` owned by one of the served shards. */
function served(prefix: string): string {
  for (let i = 0; ; i++) if (shardForKey(`${prefix}-${i}`) < SHARDS) return `${prefix}-${i}`;
}

type Range<T> = { first: T; count: number };

describe('pharaoh backup / restore of the sequencer', () => {
  it('resumes every partition above every offset handed out before the loss, at the documented floor, and every table above its CDC ids', async () => {
    const data = join(scratch.dir, 'data');
    const [known, lost] = [served('orders'), served('payments')];
    const table = served('cdc-orders');
    let s = await serve(data);
    const assign = (c: RawClient, partition: string, count: number) => c.request('offsets.assign', { shard: shardForKey(partition), partition, count });

    // Before the backup.
    expect((await assign(s.client, known, 10)).ok).toEqual({ first: 0, count: 10 });
    const cdcBefore = (await s.client.ok<Range<bigint>>('cdc.next', { shard: shardForKey(table), table, count: 5 })) as Range<bigint>;
    const tar = join(scratch.dir, 'sequencer.tar');
    const b = await runCli(['backup', '--service', 'sequencer', '--data', data, '--out', tar]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);

    // Service goes on after the backup, then the disk is lost.
    let ackedKnown = 10;
    for (let i = 0; i < 20; i++) ackedKnown = Math.max(ackedKnown, (await s.client.ok<Range<number>>('offsets.assign', { shard: shardForKey(known), partition: known, count: 1000 })).first + 1000);
    const ackedLost = (await s.client.ok<Range<number>>('offsets.assign', { shard: shardForKey(lost), partition: lost, count: 7 })).first + 7;
    const cdcLost = await s.client.ok<Range<bigint>>('cdc.next', { shard: shardForKey(table), table, count: 5 });
    expect(cdcLost.first).toBeGreaterThan(cdcBefore.first);
    s.client.ws.terminate();
    await stopApp(s.app, 'SIGKILL');
    rmSync(data, { recursive: true, force: true });

    const r = await runCli(['restore', '--from', tar, '--data', data, '--service', 'sequencer']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const mark = (JSON.parse(readFileSync(join(data, 'sequencer', `shard-${shardForKey(known)}`, 'identity.json'), 'utf8')) as { restored: { issuedBeforeMs: number } }).restored;
    const floor = ceilingAt(SEQUENCER.layout.epochMs, mark.issuedBeforeMs);
    s = await serve(data);

    // Until the clock passes issuedBeforeMs: OVERLOADED, never an offset below the floor. Bounded: the mark lies ~10 s ahead.
    let got: Range<number> | undefined;
    const deadline = Date.now() + 60_000;
    let refusals = 0;
    while (got === undefined && Date.now() < deadline) {
      const a = await assign(s.client, known, 5);
      if (a.ok) got = a.ok as unknown as Range<number>;
      else {
        expect(a.err?.code).toBe('OVERLOADED');
        refusals++;
        await new Promise((res) => setTimeout(res, 250));
      }
    }
    expect(got, 'the restored partition never served within 60 s').toBeDefined();
    if (Date.now() < mark.issuedBeforeMs - 1_000) expect(refusals).toBeGreaterThan(0);
    expect(got!.first).toBe(floor);
    expect(got!.first).toBeGreaterThanOrEqual(ackedKnown);
    expect(await s.client.ok('offsets.assign', { shard: shardForKey(known), partition: known, count: 1 })).toEqual({ first: floor + 5, count: 1 });
    // A partition the backup does not know resumes at the floor too, above what the lost process gave it.
    const l = await s.client.ok<Range<number>>('offsets.assign', { shard: shardForKey(lost), partition: lost, count: 1 });
    expect(l.first).toBe(floor);
    expect(l.first).toBeGreaterThanOrEqual(ackedLost);
    // CDC ids are time-based: above every one issued before the loss.
    const c = await s.client.ok<Range<bigint>>('cdc.next', { shard: shardForKey(table), table });
    expect(c.first).toBeGreaterThan(cdcLost.first + BigInt(cdcLost.count - 1));
  }, 180_000);
});
