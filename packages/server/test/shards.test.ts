import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { IDENTITY_FILE, ServerError, shardDir } from '../src/index.js';
import type { RunningServer } from '../src/index.js';
import { httpGet, metricValue, scrape, start, tempDir, testService } from './helpers.js';
import { RawClient } from '@pharaoh/testkit';

let data: ReturnType<typeof tempDir>;
const servers: RunningServer[] = [];
const clients: RawClient[] = [];

beforeEach(() => {
  data = tempDir();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  data.remove();
});

async function run(shards: string, extra = {}): Promise<RunningServer> {
  const s = await start(testService(), data.dir, { shards, ...extra });
  servers.push(s);
  return s;
}

async function startError(shards: string): Promise<ServerError> {
  const err = await start(testService(), data.dir, { shards }).then(
    (s) => {
      servers.push(s);
      throw new Error('expected the server to refuse to start');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServerError);
  return err as ServerError;
}

describe('shard directories', () => {
  it('creates <data>/<service>/shard-<id>/ with an identity file naming service, shard and layout', async () => {
    const s = await run('3');
    const identity = JSON.parse(readFileSync(join(shardDir(data.dir, 'tso', 3), IDENTITY_FILE), 'utf8'));
    expect(identity).toMatchObject({
      format: 1,
      service: 'tso',
      shard: 3,
      layout: { name: TSO_LAYOUT.name, timeBits: 41, shardBits: 10, seqBits: 13, epochMs: TSO_LAYOUT.epochMs, unitMs: 1 },
    });
    await s.close();
    servers.length = 0;
    await run('3'); // reopening a matching directory works
  });

  it('refuses a directory whose identity names another shard, naming both', async () => {
    await (await run('1')).close();
    servers.length = 0;
    const dir2 = shardDir(data.dir, 'tso', 2);
    mkdirSync(dir2, { recursive: true });
    writeFileSync(join(dir2, IDENTITY_FILE), readFileSync(join(shardDir(data.dir, 'tso', 1), IDENTITY_FILE)));
    const err = await startError('2');
    expect(err.code).toBe('SHARD_IDENTITY_MISMATCH');
    expect(err.message).toContain(dir2);
    expect(err.message).toMatch(/expected service=tso shard=2 .*found service=tso shard=1/);
  });

  it('refuses a directory written with another layout', async () => {
    await (await run('4')).close();
    servers.length = 0;
    const path = join(shardDir(data.dir, 'tso', 4), IDENTITY_FILE);
    const identity = JSON.parse(readFileSync(path, 'utf8'));
    identity.layout.seqBits = 12;
    identity.layout.timeBits = 42;
    writeFileSync(path, JSON.stringify(identity));
    const err = await startError('4');
    expect(err.code).toBe('SHARD_IDENTITY_MISMATCH');
    expect(err.message).toContain('42/10/12');
  });

  it('refuses a directory that holds foreign files but no identity', async () => {
    const dir = shardDir(data.dir, 'tso', 5);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'somebody-elses.db'), 'x');
    const err = await startError('5');
    expect(err.code).toBe('SHARD_IDENTITY_MISMATCH');
    expect(err.message).toContain('somebody-elses.db');
    expect(readdirSync(dir)).toEqual(['somebody-elses.db']); // nothing was written into it
  });

  it('holds a new shard as two files: its identity (which is also its lock) and its bound', async () => {
    await run('8');
    expect(readdirSync(shardDir(data.dir, 'tso', 8)).sort()).toEqual(['bound', IDENTITY_FILE]);
  });

  it('rewrites an empty or torn identity when the shard holds no data (a crash while creating it)', async () => {
    const torn = shardDir(data.dir, 'tso', 1);
    const empty = shardDir(data.dir, 'tso', 2);
    mkdirSync(torn, { recursive: true });
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(torn, IDENTITY_FILE), '{\n  "format": 1,\n  "serv\0\0\0\0');
    writeFileSync(join(torn, 'bound'), ''); // created, never advanced
    writeFileSync(join(empty, IDENTITY_FILE), '');
    writeFileSync(join(empty, 'LOCK'), ''); // what earlier builds left
    const s = await run('1-2');
    const c = await RawClient.connect(s.url);
    clients.push(c);
    for (const [shard, dir] of [[1, torn], [2, empty]] as const) {
      expect(JSON.parse(readFileSync(join(dir, IDENTITY_FILE), 'utf8'))).toMatchObject({ format: 1, service: 'tso', shard });
      expect(await c.ok('ts.get', { shard, count: 1 })).toMatchObject({ count: 1 });
    }
  });

  it('refuses an unreadable identity when the shard holds data (its bound moved: IDs may have been issued)', async () => {
    const s = await run('3');
    const c = await RawClient.connect(s.url);
    await c.ok('ts.get', { shard: 3, count: 1 });
    c.ws.terminate();
    await s.close();
    servers.length = 0;
    const dir = shardDir(data.dir, 'tso', 3);
    const bound = readFileSync(join(dir, 'bound')).length;
    expect(bound).toBeGreaterThan(0);
    writeFileSync(join(dir, IDENTITY_FILE), '{"format": 1, "serv');
    const err = await startError('3');
    expect(err.code).toBe('SHARD_IDENTITY_MISMATCH');
    expect(err.message).toMatch(/found an unreadable identity\.json but data files \(bound\)\. Its identity cannot be proven/);
    expect(err.message).toContain(`write exactly this to ${join(dir, IDENTITY_FILE)}`);
    expect(readFileSync(join(dir, IDENTITY_FILE), 'utf8')).toBe('{"format": 1, "serv'); // left for the operator
  });

  it('opens a shard directory written by an earlier version (with a LOCK file)', async () => {
    await (await run('4')).close();
    servers.length = 0;
    writeFileSync(join(shardDir(data.dir, 'tso', 4), 'LOCK'), '');
    await run('4');
    expect(existsSync(join(shardDir(data.dir, 'tso', 4), 'LOCK'))).toBe(true);
  });

  it('adopts a directory left by a crash during creation: an empty bound counter but no identity yet', async () => {
    const dir = shardDir(data.dir, 'tso', 6);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bound'), ''); // value 0: it never handed out an ID
    await run('6');
    expect(JSON.parse(readFileSync(join(dir, IDENTITY_FILE), 'utf8'))).toMatchObject({ service: 'tso', shard: 6 });
  });

  it('refuses a directory with a non-empty bound counter but no identity (IDs may have been issued)', async () => {
    const dir = shardDir(data.dir, 'tso', 7);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bound'), Buffer.alloc(10));
    const err = await startError('7');
    expect(err.code).toBe('SHARD_IDENTITY_MISMATCH');
    expect(err.message).toContain('bound');
  });

  it('refuses a second host of the same shard, naming it, and releases the locks it took', async () => {
    await run('2');
    const err = await startError('0-3');
    expect(err.code).toBe('SHARD_LOCKED');
    expect(err.shard).toBe(2);
    expect(err.message).toContain('shard 2');
    expect(err.message).toContain(shardDir(data.dir, 'tso', 2));
    await run('0-1,3'); // the failed start left shards 0, 1, 3 unlocked
  });
});

describe('idle shards', () => {
  it('make no fsyncs once requests stop', async () => {
    const s = await run('0-5'); // shards 6-9 of the test service behave specially
    const c = await RawClient.connect(s.url);
    clients.push(c);
    for (let shard = 0; shard < 6; shard++) await c.ok('ts.get', { shard, count: 1 });
    const fsyncs = async (): Promise<number> => metricValue(await scrape(s.httpPort), 'pharaoh_fsync_duration_seconds_count') ?? NaN;
    await new Promise((r) => setTimeout(r, 300)); // let the bound advances the requests started finish
    const before = await fsyncs();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await fsyncs()).toBe(before);
  });
});

describe('a failed time bound', () => {
  it('answers SHARD_UNAVAILABLE on every shard of the process when its one time bound cannot be made durable', async () => {
    const disk = new SimulatedFs({ seed: 7, dirs: [data.dir] });
    const s = await run('0-2', { fs: disk });
    const processBound = join(data.dir, 'tso', 'bound-0');
    expect(disk.exists(processBound)).toBe(true);
    disk.injectFault({ op: 'datasync', code: 'EIO', path: processBound, times: Infinity });
    disk.injectFault({ op: 'truncate', code: 'EIO', path: processBound, times: Infinity });
    const c = await RawClient.connect(s.url);
    clients.push(c);
    for (const shard of [0, 1, 2]) {
      const r = await c.request('ts.get', { shard, count: 1 });
      expect(r.err).toMatchObject({ code: 'SHARD_UNAVAILABLE', shard });
    }
    const ready = await httpGet(s.httpPort, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, unavailable: [0, 1, 2] });
    const m = await scrape(s.httpPort);
    expect(metricValue(m, 'pharaoh_shards_unavailable')).toBe(3);
    expect(metricValue(m, 'pharaoh_requests_total', { op: 'ts.get', outcome: 'SHARD_UNAVAILABLE' })).toBe(3);
  });
});

describe('a failed shard', () => {
  it('reopens by itself with the time bound once the disk works again, every ID above those issued before', async () => {
    const disk = new SimulatedFs({ seed: 9, dirs: [data.dir] });
    const s = await run('0-2', { fs: disk, windowMs: 5, reopenBackoff: { minMs: 20, maxMs: 100 } });
    const c = await RawClient.connect(s.url);
    clients.push(c);
    const before: bigint[] = [];
    for (const shard of [0, 1, 2]) before.push(((await c.ok('ts.get', { shard, count: 1 })) as { first: bigint }).first);
    const processBound = join(data.dir, 'tso', 'bound-0');
    disk.injectFault({ op: 'datasync', code: 'EIO', path: processBound, times: Infinity });
    disk.injectFault({ op: 'truncate', code: 'EIO', path: processBound, times: Infinity });
    // The bound must advance within about a second (its unit), and cannot.
    let failed: unknown;
    for (let i = 0; i < 400 && failed === undefined; i++) {
      failed = (await c.request('ts.get', { shard: 0, count: 1 })).err;
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(failed).toMatchObject({ code: 'SHARD_UNAVAILABLE' });
    await new Promise((res) => setTimeout(res, 200)); // reopen attempts fail while the disk does
    expect(JSON.parse((await httpGet(s.httpPort, '/readyz')).body)).toMatchObject({ ready: false });
    disk.clearFaults();
    const deadline = Date.now() + 5_000;
    while ((await httpGet(s.httpPort, '/readyz')).status !== 200 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(JSON.parse((await httpGet(s.httpPort, '/readyz')).body)).toEqual({ ready: true, closing: false, unavailable: [] });
    for (const shard of [0, 1, 2]) {
      const next = ((await c.ok('ts.get', { shard, count: 1 })) as { first: bigint }).first;
      expect(next).toBeGreaterThan(before[shard]!);
    }
  });
});

describe('periodic shard tasks (ShardContext.every)', () => {
  it('runs a task without overlapping runs, fails only its shard when a run rejects, and stops it at close', async () => {
    const runs = new Map<number, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const def = testService();
    def.openShard = async (ctx) => {
      ctx.every(5, async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20)); // longer than the interval
        inFlight -= 1;
        if (ctx.id === 1) throw new Error('sweep failed');
      });
      return { opened: Date.now() };
    };
    const s = await start(def, data.dir, { shards: '0-1' });
    servers.push(s);
    for (let i = 0; i < 200 && !((runs.get(0) ?? 0) >= 3 && (runs.get(1) ?? 0) >= 1); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(runs.get(0)).toBeGreaterThanOrEqual(3);
    expect(maxInFlight).toBeLessThanOrEqual(2); // at most one run per shard at a time, two shards
    const c = await RawClient.connect(s.url);
    clients.push(c);
    for (let i = 0; i < 50 && (await c.request('ts.get', { shard: 1, count: 1 })).err?.code !== 'SHARD_UNAVAILABLE'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await c.request('ts.get', { shard: 1, count: 1 })).err?.code).toBe('SHARD_UNAVAILABLE');
    expect((await c.ok<{ count: number }>('ts.get', { shard: 0, count: 1 })).count).toBe(1);
    await s.close();
    servers.length = 0;
    const after = runs.get(0)!;
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.get(0)).toBe(after);
  });
});

describe('a start', () => {
  it('summarizes itself: shards opened, how many for the first time, journal records replayed, the slowest shard', async () => {
    const def = {
      ...testService(),
      stats: () => ({ journal: { sizeBytes: 0, stats: { compactions: 0, syncs: 0, appends: 0, recoveredRecords: 3 } } }),
    };
    const first = await start(def, data.dir, { shards: '0-3' });
    expect(first.start).toMatchObject({ shards: 4, firstOpens: 4, replayedRecords: 12 });
    expect([0, 1, 2, 3]).toContain(first.start.slowestShard?.shard);
    expect(first.start.slowestShard!.ms).toBeGreaterThanOrEqual(0);
    await first.close();
    const second = await start(def, data.dir, { shards: '0-5' });
    servers.push(second);
    expect(second.start).toMatchObject({ shards: 6, firstOpens: 2, replayedRecords: 18 });
  });

  it('makes every new shard durable with one syncAll per phase where the file system has one, else shard by shard', async () => {
    const withAll = new SimulatedFs({ dirs: ['/data'] });
    const a = await start(testService(), '/data', { shards: '0-9', fs: withAll });
    // Identities, then first-open marks: one syncfs each, no per-shard fdatasync.
    expect(withAll.stats.ops.syncAll).toBe(2);
    expect(withAll.stats.ops.datasync).toBeLessThan(10);
    await a.close();
    // The carried bounds of a graceful close: one more.
    expect(withAll.stats.ops.syncAll).toBe(3);
    expect(withAll.stats.ops.datasync).toBeLessThan(10);
    const perFile = new SimulatedFs({ dirs: ['/data'] });
    const { syncAll: _none, ...noSyncAll } = perFile.forProcess();
    const b = await start(testService(), '/data', { shards: '0-9', fs: noSyncAll });
    await b.close();
    expect(perFile.stats.ops.syncAll).toBe(0);
    expect(perFile.stats.ops.datasync).toBeGreaterThanOrEqual(20); // identity and mark of each of the 10 shards
    // A restart of shards that opened completely before syncs nothing per shard.
    const before = withAll.stats.ops.datasync + withAll.stats.ops.syncAll;
    const c = await start(testService(), '/data', { shards: '0-9', fs: withAll });
    const restartSyncs = withAll.stats.ops.datasync + withAll.stats.ops.syncAll - before;
    await c.close();
    expect(restartSyncs).toBeLessThan(10);
  });
});
