/**
 * A shard directory's identity across crashes, on the crash simulator.
 * Fault models: process death (page cache kept), power loss (only synced
 * state kept), and process death → restart → service → power loss.
 * Invariants: a shard that is safe to open opens; IDs after every fault are
 * above every ID acknowledged before it; a shard whose identity cannot be
 * proven is refused with instructions, nothing written.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { IDENTITY_FILE, ServerError, shardDir } from '../src/index.js';
import { openTestShard } from '../src/testing.js';
import { testService } from './helpers.js';

const DATA = '/data';
const DIR = shardDir(DATA, 'tso', 0);
const IDENTITY = `${DIR}/${IDENTITY_FILE}`;
const def = testService();
// A frozen clock: a shard that lost its bound would issue the same IDs again, so the checks below can see it.
const clock = { now: () => Date.UTC(2026, 11, 3) };

async function issue(fs: SimulatedFs, n: number): Promise<bigint[]> {
  const s = await openTestShard(def, { fs: fs.forProcess(), dataDir: DATA, shard: 0, clock });
  const ids: bigint[] = [];
  for (let i = 0; i < n; i++) ids.push(await s.handle.generator.next());
  // The bound's background advance must be durable before we call the IDs acknowledged.
  await s.close();
  return ids;
}

describe('shard identity under crash then power loss', () => {
  it('makes an identity it only read durable: an identity left unsynced by a dead process survives a later power cut', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new SimulatedFs({ seed, dirs: [DATA] });
      // Process 1 creates the shard and dies just before the identity's fdatasync.
      const release = fs.hold('datasync');
      const first = openTestShard(def, { fs: fs.forProcess(), dataDir: DATA, shard: 0, clock }).catch(() => undefined);
      for (let i = 0; i < 200 && !fs.contents(IDENTITY)?.length; i++) await new Promise((r) => setImmediate(r));
      expect(fs.contents(IDENTITY)?.length).toBeGreaterThan(0);
      fs.killProcess();
      release();
      await first;
      // Process 2 reads the identity from the page cache, serves IDs (the bound moves)...
      const acked = await issue(fs, 3);
      // ...then the power goes.
      fs.powerLoss();
      const after = await issue(fs, 1);
      expect(after[0]! > acked[acked.length - 1]!, `seed ${seed}`).toBe(true);
    }
  });

  it('repairs an identity torn after the layout (what survived names this shard), keeping the bound', async () => {
    const fs = new SimulatedFs({ seed: 3, dirs: [DATA] });
    const acked = await issue(fs, 2);
    const full = fs.contents(IDENTITY)!.toString('utf8');
    const cut = full.indexOf('"createdAt"') + 15;
    fs.setFile(IDENTITY, full.slice(0, cut) + '\0\0\0\0');
    const repaired = await issue(fs, 1);
    expect(repaired[0]! > acked[1]!).toBe(true);
    expect(JSON.parse(fs.contents(IDENTITY)!.toString('utf8'))).toMatchObject({ service: 'tso', shard: 0 });
  });

  it('refuses, changing nothing, an identity whose remains do not prove the shard, and says exactly what to write', async () => {
    for (const remains of ['', '\0\0\0\0\0\0\0\0', '{\n  "format": 1,\n  "service": "tso",\n  "sha', '{"format":1,"service":"txcoord","shard":0']) {
      const fs = new SimulatedFs({ seed: 5, dirs: [DATA] });
      await issue(fs, 2);
      fs.setFile(IDENTITY, remains);
      const err = await openTestShard(def, { fs: fs.forProcess(), dataDir: DATA, shard: 0, clock }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(remains)).toBeInstanceOf(ServerError);
      expect((err as ServerError).code).toBe('SHARD_IDENTITY_MISMATCH');
      expect((err as ServerError).message).toContain(`write exactly this to ${IDENTITY}`);
      expect((err as ServerError).message).toContain('"service": "tso"');
      expect(fs.contents(IDENTITY)!.toString('utf8')).toBe(remains);
    }
  });

  it('makes the data dir, the service dir and the shard dir entries durable on every start, also when a dead process created them', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const fs = new SimulatedFs({ seed, dirs: ['/'] });
      // A process creates the whole tree and dies before any directory fsync.
      await fs.mkdir(DATA);
      await fs.mkdir(`${DATA}/tso`);
      await fs.mkdir(DIR);
      fs.killProcess();
      const acked = await issue(fs, 2);
      fs.powerLoss();
      const after = await issue(fs, 1);
      expect(after[0]! > acked[1]!, `seed ${seed}`).toBe(true);
    }
  });
});
