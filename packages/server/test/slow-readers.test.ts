/**
 * Peers that send requests but never read their answers. The server must hold
 * at most `highWaterBytes` (plus the answers of requests in flight) per such
 * connection, in memory as well as in its own count, and stop reading them.
 * The server runs in its own process so the test's client buffers are not
 * counted, and measures itself after a full GC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeFrame } from '@pharaoh/protocol';
import { RawClient } from '@pharaoh/testkit';
import { metricValue, scrape } from './helpers.js';

const HIGH_WATER = 1024 * 1024;
const SLOW = 8;
const PER_CONNECTION = 200_000;
const MiB = 1024 * 1024;

interface Memory {
  heapUsed: number;
  arrayBuffers: number;
}

let child: ChildProcess;
let url: string;
let httpPort: number;
const sockets: WebSocket[] = [];

function nextMessage<T>(): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

async function measure(): Promise<Memory> {
  child.send({ measure: true });
  return nextMessage<Memory>();
}

beforeAll(async () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'memory-server.ts');
  child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, HIGH_WATER_BYTES: String(HIGH_WATER) },
  });
  ({ url, httpPort } = await nextMessage<{ url: string; httpPort: number }>());
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.send({ stop: true });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

async function slowReader(): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((r) => ws.once('message', r)); // the hello
  (ws as unknown as { _socket: import('node:net').Socket })._socket.pause(); // never read another byte
  sockets.push(ws);
  return ws;
}

it(`holds about highWaterBytes per connection for ${SLOW} peers that never read ${PER_CONNECTION} small answers each, and stops reading them`, async () => {
  const before = await measure();
  const slow = await Promise.all(Array.from({ length: SLOW }, () => slowReader()));
  const request = encodeFrame({ id: 1, op: 'ts.get', shard: 1, count: 1 });
  for (let sent = 0; sent < PER_CONNECTION; sent += 1000) {
    for (const ws of slow) for (let i = 0; i < 1000; i++) ws.send(request);
    await new Promise((r) => setTimeout(r, 5));
  }
  // Wait until every slow connection is paused and the answer count stops moving.
  const answered = async (): Promise<number> => metricValue(await scrape(httpPort), 'pharaoh_requests_total', { outcome: 'ok' }) ?? 0;
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const m = await scrape(httpPort);
    const now = metricValue(m, 'pharaoh_requests_total', { outcome: 'ok' }) ?? 0;
    if (metricValue(m, 'pharaoh_backpressure_paused_connections') === SLOW && now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
  const m = await scrape(httpPort);
  expect(metricValue(m, 'pharaoh_backpressure_paused_connections')).toBe(SLOW);
  // The rest of the requests wait unread in TCP.
  expect(await answered()).toBeLessThan(SLOW * PER_CONNECTION);

  // The server's own count: no connection holds more than the bound (plus one turn's answers).
  const admin = await RawClient.connect(url);
  const info = await admin.ok<{ maxBufferedBytes: number; bufferedBytes: number }>('admin.info');
  await admin.close();
  expect(info.maxBufferedBytes).toBeLessThanOrEqual(HIGH_WATER + 64 * 1024);
  expect(info.bufferedBytes).toBeLessThanOrEqual(SLOW * (HIGH_WATER + 64 * 1024));

  // And its memory: what it holds for them is about those bytes, not many times more (76 MiB
  // before answers were bounded). Per connection: the answers (≤ highWaterBytes, as
  // arrayBuffers) plus the requests already read but not handled — the frames of the last
  // socket read, each a JS object and a Buffer view on the heap, and ws's unparsed chunks.
  // Measured on a quiet 2-core VM: heap +10.7 MiB and buffers +8.7 MiB for 8 connections,
  // 17–25 MiB in all from run to run (a faster machine reads more per read before pausing);
  // so up to 2 MiB of backlog per connection is allowed beside the answers.
  const after = await measure();
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  expect(grown, `grew ${(grown / MiB).toFixed(1)} MiB for ${SLOW} slow readers`).toBeLessThan(SLOW * (HIGH_WATER + 2 * MiB) + 4 * MiB);
}, 120_000);
