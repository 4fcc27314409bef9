import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import type { RunningServer } from '../src/index.js';
import { start, tempDir, testService } from './helpers.js';
import { RawClient } from './raw-client.js';

let data: ReturnType<typeof tempDir>;
let server: RunningServer | undefined;
const sockets: WebSocket[] = [];

beforeEach(() => {
  data = tempDir();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server?.close();
  server = undefined;
  data.remove();
});

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

/** `n` sequential ts.get round trips on `shard`; returns each latency (ms) and checks the IDs increase. */
async function probe(c: RawClient, shard: number, n: number): Promise<number[]> {
  const out: number[] = [];
  let last = -1n;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await c.ok<{ first: bigint }>('ts.get', { shard, count: 1 });
    out.push(performance.now() - t0);
    expect(r.first).toBeGreaterThan(last);
    last = r.first;
  }
  return out;
}

/**
 * A connection that keeps `window` requests outstanding at all times (a new one
 * for each answer), as fast as the server answers: thousands of frames per read.
 */
async function flood(url: string, shard: number, window: number): Promise<{ answered: () => number; stop: () => void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // hello
    ws.once('error', reject);
  });
  const frame = encodeFrame({ id: 1, op: 'ts.get', shard, count: 1 });
  let answered = 0;
  let stopped = false;
  ws.on('message', (data) => {
    answered++;
    decodeFrame(data as Buffer);
    if (!stopped) ws.send(frame);
  });
  for (let i = 0; i < window; i++) ws.send(frame);
  return { answered: () => answered, stop: () => void (stopped = true) };
}

describe('fairness between connections', () => {
  it("keeps another connection's p99 latency bounded while one connection floods", async () => {
    server = await start(testService(), data.dir, { shards: '0-3' });
    const victim = await RawClient.connect(server.url);
    sockets.push(victim.ws);
    await probe(victim, 1, 50); // warm up (first fsync of the shard, JIT)
    const baseline = p99(await probe(victim, 1, 300));
    const flooder = await flood(server.url, 2, 4_000);
    await new Promise((r) => setTimeout(r, 200)); // let the flood reach full speed
    const before = flooder.answered();
    const loaded = await probe(victim, 1, 300);
    const floodAnswers = flooder.answered() - before;
    flooder.stop();
    const bound = Math.max(20 * baseline, 250);
    console.log(`fairness: baseline p99 ${baseline.toFixed(2)} ms, under flood p99 ${p99(loaded).toFixed(2)} ms (bound ${bound.toFixed(0)} ms), flood answers meanwhile ${floodAnswers}`);
    // The flood was real: the flooder got far more answers than the victim asked for meanwhile.
    expect(floodAnswers).toBeGreaterThan(10 * loaded.length);
    expect(p99(loaded)).toBeLessThan(bound);
  }, 60_000);
});
