import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { RawClient } from '@pharaoh/testkit';
import { Ledger } from './ledger.js';
import { startTso, startTsoExpectingFailure, tempDataDir } from './spawn.js';
import type { TsoProcess } from './spawn.js';

let data: ReturnType<typeof tempDataDir>;
let tso: TsoProcess;
const ledger = new Ledger();

beforeAll(async () => {
  data = tempDataDir();
  tso = await startTso(['--shards', '0-15', '--data', data.dir]);
});
afterAll(async () => {
  await tso?.kill();
  data?.remove();
  expect(ledger.violations).toEqual([]);
});

type Range = { first: bigint; count: number };

describe('a running tso process', () => {
  it('issues unique timestamps, increasing per shard, to many concurrent clients', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(tso.url)));
    let total = 0;
    await Promise.all(
      clients.map(async (c, ci) => {
        // 24 requests in flight per connection, 400 requests each, random shards and counts.
        let sent = 0;
        const worker = async (): Promise<void> => {
          while (sent < 400) {
            sent++;
            const shard = Math.floor(Math.random() * 16);
            const count = 1 + Math.floor(Math.random() * 40);
            const r = await c.ok<Range>('ts.get', { shard, count });
            expect(r.count).toBeGreaterThanOrEqual(1);
            expect(r.count).toBeLessThanOrEqual(count);
            ledger.add(`c${ci}`, shard, r.first, r.count);
            total += r.count;
          }
        };
        await Promise.all(Array.from({ length: 24 }, worker));
        await c.close();
      }),
    );
    expect(ledger.violations).toEqual([]);
    expect(total).toBeGreaterThan(2400);
  });

  it('answers strictly above `after`, even an ID from another shard or ahead of its clock', async () => {
    const c = await RawClient.connect(tso.url);
    const base = await c.ok<Range>('ts.get', { shard: 2, count: 1 });
    ledger.add('after', 2, base.first, 1);
    const { time } = TSO_LAYOUT.decode(base.first);
    for (const after of [
      base.first,
      TSO_LAYOUT.encode({ time, shard: 15, seq: 8000 }),
      TSO_LAYOUT.encode({ time: time + 1500, shard: 0, seq: 0 }),
    ]) {
      const r = await c.ok<Range>('ts.get', { shard: 2, count: 3, after });
      expect(r.first).toBeGreaterThan(after);
      ledger.add('after', 2, r.first, r.count);
    }
    await c.close();
  });

  it('answers NOT_OWNER with its shard list for a shard it does not host', async () => {
    const c = await RawClient.connect(tso.url);
    expect(c.hello.shards).toEqual([[0, 15]]);
    const r = await c.request('ts.get', { shard: 16, count: 1 });
    expect(r.err).toMatchObject({ code: 'NOT_OWNER', shards: [[0, 15]], shard: 16 });
    await c.close();
  });

  it('refuses to start a second process on shards this one hosts, naming the shard', async () => {
    const { code, stderr } = await startTsoExpectingFailure(['--shards', '12-20', '--data', data.dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/tso shard 12 is already hosted by another process/);
    expect(stderr).toContain('shard-12');
    // The running process is unaffected.
    const c = await RawClient.connect(tso.url);
    const r = await c.ok<Range>('ts.get', { shard: 12, count: 1 });
    ledger.add('after-conflict', 12, r.first, 1);
    await c.close();
  });
});
