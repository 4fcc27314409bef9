/**
 * One durable time bound per process, on real files. Fault model: graceful
 * restarts and moves (crashes are the crash explorations' job). Invariant: a
 * shard never issues at or below a timestamp it issued before, wherever and
 * by whichever process of a data dir it is hosted next, whatever the clock says.
 */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawClient } from '@pharaoh/testkit';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { shardDir, type RunningServer } from '../src/index.js';
import { start, tempDir, testService } from './helpers.js';

const T0 = Date.UTC(2026, 11, 3);
const HOUR = 3_600_000;
let a: ReturnType<typeof tempDir>;
let b: ReturnType<typeof tempDir>;
const clients: RawClient[] = [];

beforeEach(() => {
  a = tempDir();
  b = tempDir();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.ws.terminate();
  a.remove();
  b.remove();
});

async function issue(s: RunningServer, shard: number, n = 5): Promise<bigint> {
  const c = await RawClient.connect(s.url);
  clients.push(c);
  let last = -1n;
  for (let i = 0; i < n; i++) {
    const r = await c.ok<{ first: bigint; count: number }>('ts.get', { shard, count: 1 });
    expect(r.first > last).toBe(true);
    last = r.first;
  }
  return last;
}

const at = (ms: number) => ({ clock: { now: () => ms } });

describe('one time bound per process', () => {
  it('keeps one bound file per process in the service dir, none advanced per shard while serving', async () => {
    const s = await start(testService(), a.dir, { shards: '0-3', ...at(T0) });
    for (const shard of [0, 1, 2, 3]) await issue(s, shard);
    expect(readdirSync(join(a.dir, 'tso')).filter((n) => n.startsWith('bound'))).toEqual(['bound-0']);
    expect(statSync(join(a.dir, 'tso', 'bound-0')).size).toBeGreaterThan(0);
    await s.close();
  });

  it('resumes a shard above what another process of the same data dir issued for it, whatever the new clock says', async () => {
    // Process 1 hosts shards 0-1 with a clock an hour ahead, then stops.
    const p1 = await start(testService(), a.dir, { shards: '0-1', ...at(T0 + HOUR) });
    const before = await issue(p1, 0);
    // Process 2 hosts 2-3 meanwhile, in the same data dir: it takes another slot.
    const p2 = await start(testService(), a.dir, { shards: '2-3', ...at(T0) });
    expect(existsSync(join(a.dir, 'tso', 'bound-1'))).toBe(true);
    await p1.close();
    // Process 3 now hosts shard 0 with the clock an hour behind: it resumes at the data dir's floor.
    const p3 = await start(testService(), a.dir, { shards: '0', ...at(T0) });
    const after = await issue(p3, 0);
    expect(after > before).toBe(true);
    await p3.close();
    await p2.close();
  });

  it('lets a shard carry its bound when it leaves: hosted from another data dir it resumes above its old IDs', async () => {
    const p1 = await start(testService(), a.dir, { shards: '5', ...at(T0 + HOUR) });
    const before = await issue(p1, 5);
    await p1.close(); // graceful: the shard's own bound now carries the process bound
    cpSync(shardDir(a.dir, 'tso', 5), shardDir(b.dir, 'tso', 5), { recursive: true });
    const p2 = await start(testService(), b.dir, { shards: '5', ...at(T0) });
    const after = await issue(p2, 5);
    expect(after > before).toBe(true);
    expect(TSO_LAYOUT.timeOf(after)).toBeGreaterThan(TSO_LAYOUT.unitAt(T0 + HOUR));
    await p2.close();
  });
});
