import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import { PharaohClient, type StatusEvent } from '../src/index.js';
import { FakeNode } from './fake-node.js';
import { checkIds, expectIncreasing, keyFor } from './helpers.js';
import { WsFake } from './ws-fake.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fake(shards: Array<[number, number]>, owns?: Array<[number, number]>): Promise<WsFake> {
  const s = await new WsFake(new FakeNode({ service: 'tso', shards, ...(owns ? { owns } : {}) })).start();
  cleanup.push(() => s.kill());
  return s;
}

describe('over real WebSockets', () => {
  it('keeps fresh-ID calls succeeding and increasing while an endpoint is killed and restarted', async () => {
    const a = await fake([[0, 511]]);
    const b = await fake([[512, 1023]]);
    // random() = 0: the default sticky policy homes on shard 0, hosted by the endpoint we kill.
    const client = await PharaohClient.connect(
      { endpoints: [a.url, b.url] },
      { reconnect: { initialMs: 20, maxMs: 200, jitter: 0.5 }, random: () => 0 },
    );
    cleanup.push(() => client.close());
    const events: StatusEvent[] = [];
    client.on('status', (e) => events.push(e));
    const perWorker: bigint[][] = Array.from({ length: 16 }, () => []);
    let stop = false;
    const workers = perWorker.map(async (mine) => {
      while (!stop) mine.push(await client.tso.next());
    });
    await new Promise((r) => setTimeout(r, 200));
    await a.kill();
    const killedAt = perWorker.map((w) => w.length);
    await new Promise((r) => setTimeout(r, 300));
    await a.start(a.port);
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'reconnect'); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(workers);
    for (const [i, w] of perWorker.entries()) {
      expect(w.length).toBeGreaterThan(killedAt[i]!); // calls kept succeeding after the kill
      expectIncreasing(w); // each caller's IDs increase across the failover
    }
    const all = perWorker.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(events.map((e) => e.type)).toEqual(['disconnect', 'reconnect']);
    expect(all.some((id) => TSO_LAYOUT.shardOf(id) < 512)).toBe(true);
  });

  it('follows NOT_OWNER: refreshes the map, reconnects to find the owner, and retries there', async () => {
    const a = await fake([[0, 1023]], [[0, 511]]);
    const b = await fake([[512, 1023]]);
    await b.kill(); // down while the client connects: a's hello is all the client knows
    const client = await PharaohClient.connect({ endpoints: [a.url, b.url] }, { reconnect: { initialMs: 10_000, maxMs: 10_000, jitter: 0 } });
    cleanup.push(() => client.close());
    const events: StatusEvent[] = [];
    client.on('status', (e) => events.push(e));
    await b.start(b.port);
    // b's reconnect is 10 s away; the NOT_OWNER answer must make the client look now.
    const id = await client.tso.next({ key: keyFor(900) });
    expect(TSO_LAYOUT.shardOf(id)).toBe(900);
    expect(a.node.requests.filter((q) => q.op === 'ts.get').map((q) => q.shard)).toEqual([900]);
    expect(events.find((e) => e.type === 'fleet-changed')).toMatchObject({ reason: 'not-owner', endpoint: a.url, after: [[0, 511]] });
  });

  it('lets the process exit by itself after close(), even with a call pending', async () => {
    const a = await fake([[0, 1023]]);
    a.node.intercept = (req) => (req.shard === 1023 ? 'hang' : undefined);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-exit.ts'), a.url], {
      env: { ...process.env, HANG_KEY: keyFor(1023) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(async () => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const exitedAt = Date.now();
    expect(code).toBe(0);
    const m = /^(\d+) ClientClosedError (\d+)\n$/.exec(out);
    expect(m, out).not.toBeNull();
    // The child's calls time out after 20 s: a timer or socket leaked by close() would keep it alive that long.
    expect(exitedAt - Number(m![2])).toBeLessThan(10_000);
    expect(exitedAt - started).toBeLessThan(40_000);
  }, 60_000);
});
