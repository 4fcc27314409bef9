import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE_CODES, encodeFrame, PROTOCOL_VERSION } from '@pharaoh/protocol';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import type { RunningServer } from '../src/index.js';
import { BIG_SHARD, BUGGY_SHARD, HELD_SHARD, OVERLOADED_SHARD, httpGet, metricValue, scrape, start, tempDir, testService } from './helpers.js';
import type { Held } from './helpers.js';
import { RawClient } from '@pharaoh/testkit';

let data: ReturnType<typeof tempDir>;
let server: RunningServer | undefined;
const clients: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(server!.url);
  clients.push(c);
  return c;
}

beforeEach(() => {
  data = tempDir();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
  data.remove();
});

describe('protocol handling', () => {
  it('greets every connection with hello: version, service, shards, layout and limits', async () => {
    server = await start(testService(), data.dir, { shards: '0-3,9', limits: { maxCount: 500 } });
    const c = await connect();
    expect(c.hello).toMatchObject({
      t: 'hello',
      v: PROTOCOL_VERSION,
      service: 'tso',
      shards: [[0, 3], [9, 9]],
      layout: { name: TSO_LAYOUT.name, timeBits: 41, shardBits: 10, seqBits: 13, epochMs: TSO_LAYOUT.epochMs, unitMs: 1 },
      limits: { maxCount: 500 },
    });
    expect(typeof c.hello.server).toBe('string');
  });

  it('answers ts.get with increasing ranges of the requested shard and ping with the clock', async () => {
    server = await start(testService(), data.dir);
    const c = await connect();
    let last = 0n;
    for (let i = 0; i < 200; i++) {
      const r = await c.ok<{ first: bigint; count: number }>('ts.get', { shard: 3, count: 1 + (i % 5) });
      expect(r.first).toBeGreaterThan(last);
      expect(TSO_LAYOUT.shardOf(r.first)).toBe(3);
      expect(r.count).toBeGreaterThanOrEqual(1);
      last = r.first + BigInt(r.count - 1);
    }
    const ping = await c.ok<{ now: number }>('ping');
    expect(Math.abs(ping.now - Date.now())).toBeLessThan(60_000);
  });

  it('answers an ID strictly greater than after', async () => {
    server = await start(testService(), data.dir);
    const c = await connect();
    const ahead = TSO_LAYOUT.encode({ time: BigInt(Date.now() - TSO_LAYOUT.epochMs + 1000), shard: 9, seq: 5 } as never);
    const r = await c.ok<{ first: bigint }>('ts.get', { shard: 1, count: 1, after: ahead });
    expect(r.first).toBeGreaterThan(ahead);
  });

  it('answers bad requests with error frames and keeps the connection usable', async () => {
    server = await start(testService(), data.dir, { limits: { maxCount: 1000 } });
    const c = await connect();
    const cases: Array<[string, Record<string, unknown>, string, string | undefined]> = [
      ['ts.get', { shard: -1, count: 1 }, 'BAD_REQUEST', 'shard'],
      ['ts.get', { shard: 'x', count: 1 }, 'BAD_REQUEST', 'shard'],
      ['ts.get', { shard: 1, count: 0 }, 'BAD_REQUEST', 'count'],
      ['ts.get', { shard: 1, count: 1001 }, 'BAD_REQUEST', 'count'],
      ['ts.get', { shard: 1, count: 1, after: -5 }, 'BAD_REQUEST', 'after'],
      ['ts.get', { shard: 1, count: 1, after: 'soon' }, 'BAD_REQUEST', 'after'],
      ['tx.begin', { shard: 1 }, 'UNKNOWN_OP', undefined],
      ['nope', {}, 'UNKNOWN_OP', undefined],
    ];
    for (const [op, args, code, field] of cases) {
      const r = await c.request(op, args);
      expect(r.err?.code, `${op} ${JSON.stringify(args)}`).toBe(code);
      if (field) expect(r.err?.field).toBe(field);
    }
    const farAhead = TSO_LAYOUT.encode({ time: BigInt(Date.now() - TSO_LAYOUT.epochMs + 600_000), shard: 1, seq: 0 } as never);
    expect((await c.request('ts.get', { shard: 1, count: 1, after: farAhead })).err).toMatchObject({ code: 'BAD_REQUEST', field: 'after' });
    expect((await c.request('ping', { v: 99 })).err).toMatchObject({ code: 'UNSUPPORTED_VERSION', supported: [1] });
    c.sendRaw(encodeFrame([1, 2, 3]));
    c.sendRaw(encodeFrame({ op: 'ping' }));
    await c.ok('ping');
    expect(c.anonymous.map((r) => r.err?.code)).toEqual(['BAD_REQUEST', 'BAD_REQUEST']);
  });

  it('answers NOT_OWNER with the hosted shard list for a shard it does not host', async () => {
    server = await start(testService(), data.dir, { shards: '2-4,8' });
    const c = await connect();
    const r = await c.request('ts.get', { shard: 5, count: 1 });
    expect(r.err).toMatchObject({ code: 'NOT_OWNER', shards: [[2, 4], [8, 8]], shard: 5 });
  });

  it('passes domain errors through and answers INTERNAL for a handler bug, staying usable', async () => {
    server = await start(testService(), data.dir);
    const c = await connect();
    expect((await c.request('ts.get', { shard: OVERLOADED_SHARD, count: 1 })).err?.code).toBe('OVERLOADED');
    expect((await c.request('ts.get', { shard: BUGGY_SHARD, count: 1 })).err).toMatchObject({ code: 'INTERNAL' });
    await c.ok('ts.get', { shard: 0, count: 1 });
  });

  it('closes with 1003 on a text frame, 1007 on undecodable bytes and 1009 on an oversized frame', async () => {
    server = await start(testService(), data.dir, { limits: { maxFrameBytes: 1024 } });
    const a = await connect();
    a.sendRaw('hello');
    expect((await a.closed).code).toBe(CLOSE_CODES.UNSUPPORTED_DATA);
    const b = await connect();
    b.sendRaw(Buffer.from([0x92, 0x01]));
    expect((await b.closed).code).toBe(CLOSE_CODES.INVALID_PAYLOAD);
    const d = await connect();
    d.sendRaw(encodeFrame({ id: 1, op: 'ping', pad: 'x'.repeat(2000) }));
    expect((await d.closed).code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
    const ok = await connect();
    await ok.ok('ping');
  });
});

describe('pings', () => {
  it('answers a burst of pings with as many pongs, echoing each payload, and keeps the connection open', async () => {
    server = await start(testService(), data.dir);
    const c = await connect();
    const pongs: string[] = [];
    c.ws.on('pong', (d) => pongs.push(d.toString()));
    const n = 1000;
    for (let i = 0; i < n; i++) c.ws.ping(`p${i}`);
    await until(() => pongs.length === n);
    expect(pongs[0]).toBe('p0');
    expect(pongs[n - 1]).toBe(`p${n - 1}`);
    await c.ok('ping');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('limits', () => {
  it('answers OVERLOADED once a connection has maxInFlight requests waiting', async () => {
    const held: Held[] = [];
    server = await start(testService(held), data.dir, { limits: { maxInFlight: 4 } });
    const c = await connect();
    const waiting = Array.from({ length: 4 }, () => c.request('ts.get', { shard: HELD_SHARD, count: 1 }));
    const over = await c.request('ts.get', { shard: HELD_SHARD, count: 1 });
    expect(over.err?.code).toBe('OVERLOADED');
    // Other connections have their own budget.
    const other = await connect();
    await other.ok('ts.get', { shard: 1, count: 1 });
    for (const h of held.splice(0)) h.release();
    for (const r of await Promise.all(waiting)) expect(r.ok).toBeDefined();
    const after = c.request('ts.get', { shard: HELD_SHARD, count: 1 });
    await until(() => held.length === 1);
    held[0]!.release();
    expect((await after).ok).toBeDefined();
  });

  it('refuses connections beyond maxConnections with HTTP 503', async () => {
    server = await start(testService(), data.dir, { limits: { maxConnections: 1 } });
    await connect();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server!.url);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => undefined);
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(503);
  });

  it('stops reading a peer that does not read its answers, and catches up when it does', async () => {
    server = await start(testService(), data.dir, { limits: { maxInFlight: 100_000 } });
    const c = await connect();
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause(); // the client stops reading answers (64 KiB each)
    // Requests padded to 4 KiB arrive over many socket reads, so pausing the reads can hold back the rest.
    const n = 2_000;
    const junk = 'j'.repeat(4096);
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) answers.push(c.request('ts.get', { shard: BIG_SHARD, count: 1, junk }));
    const paused = async (): Promise<number> => metricValue(await scrape(server!.httpPort), 'pharaoh_backpressure_paused_connections') ?? -1;
    await untilAsync(async () => (await paused()) === 1);
    // While paused, the answered count settles below n: the rest of the requests stay unread in TCP.
    const answered = async (): Promise<number> => metricValue(await scrape(server!.httpPort), 'pharaoh_requests_total', { outcome: 'ok' }) ?? 0;
    let before = -1;
    let now = await answered();
    for (let i = 0; i < 40 && now !== before; i++) {
      await sleep(500);
      before = now;
      now = await answered();
    }
    expect(now).toBeLessThan(n);
    socket.resume();
    const all = await Promise.all(answers);
    expect(all.length).toBe(n);
    const m = await scrape(server.httpPort);
    expect(metricValue(m, 'pharaoh_requests_total', { outcome: 'ok' })).toBe(n);
    expect(metricValue(m, 'pharaoh_backpressure_paused_connections')).toBe(0);
    expect(metricValue(m, 'pharaoh_backpressure_pauses_total')).toBeGreaterThanOrEqual(1);
  });
});

describe('ops endpoints', () => {
  it('serves healthz, readyz and Prometheus metrics with per-op and (opted in) per-shard series', async () => {
    server = await start(testService(), data.dir, { shards: '0-2', metrics: { perShard: true } });
    const c = await connect();
    await c.ok('ts.get', { shard: 1, count: 10 });
    expect((await httpGet(server.httpPort, '/healthz')).status).toBe(200);
    const ready = await httpGet(server.httpPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, unavailable: [] });
    const m = await scrape(server.httpPort);
    const expected: Array<[string, Record<string, string>, number | 'any']> = [
      ['pharaoh_requests_total', { op: 'ts.get', outcome: 'ok', service: 'tso' }, 1],
      ['pharaoh_ids_issued_total', { op: 'ts.get', shard: '1' }, 10],
      ['pharaoh_shard_requests_total', { op: 'ts.get', shard: '1' }, 1],
      ['pharaoh_request_duration_seconds_count', { op: 'ts.get' }, 1],
      ['pharaoh_fsync_duration_seconds_count', {}, 'any'],
      ['pharaoh_clock_regressions_total', {}, 0],
      ['pharaoh_window_waits_total', {}, 'any'],
      ['pharaoh_lead_waits_total', {}, 'any'],
      ['pharaoh_connections', {}, 1],
      ['pharaoh_shard_up', { shard: '2' }, 1],
      ['process_resident_memory_bytes', {}, 'any'],
    ];
    for (const [name, labels, value] of expected) {
      const v = metricValue(m, name, labels);
      expect(v, name).toBeDefined();
      if (value !== 'any') expect(v, name).toBe(value);
    }
    expect((await httpGet(server.httpPort, '/nope')).status).toBe(404);
  });

  it('never turns client-chosen op names into metric labels', async () => {
    server = await start(testService(), data.dir);
    const c = await connect();
    for (let i = 0; i < 20; i++) await c.request(`op-${i}`);
    const m = await scrape(server.httpPort);
    expect(m).not.toContain('op-1');
    expect(metricValue(m, 'pharaoh_requests_total', { op: 'unknown', outcome: 'UNKNOWN_OP' })).toBe(20);
  });
});

describe('graceful shutdown', () => {
  it('answers in-flight requests, refuses new ones, then closes connections with 1001', async () => {
    const held: Held[] = [];
    server = await start(testService(held), data.dir);
    const c = await connect();
    const inFlight = [c.request('ts.get', { shard: HELD_SHARD, count: 1 }), c.request('ts.get', { shard: HELD_SHARD, count: 3 })];
    await until(() => held.length === 2);
    const closing = server.close();
    const refused = await c.request('ts.get', { shard: 1, count: 1 });
    expect(refused.err?.code).toBe('SHUTTING_DOWN');
    expect((await httpGet(server.httpPort, '/readyz')).status).toBe(503);
    for (const h of held) h.release();
    const answers = await Promise.all(inFlight);
    for (const a of answers) expect(a.ok).toBeDefined();
    expect((await c.closed).code).toBe(CLOSE_CODES.GOING_AWAY);
    await closing;
    server = undefined;
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

async function untilAsync(cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
