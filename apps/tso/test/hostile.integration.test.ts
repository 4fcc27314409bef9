import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { mulberry32, RawClient } from '@pharaoh/testkit';
import { Ledger } from './ledger.js';
import { startTso, tempDataDir } from './spawn.js';
import type { TsoProcess } from './spawn.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261126);
const FRAMES = 4000;
const MAX_FRAME = 64 * 1024;

let data: ReturnType<typeof tempDataDir>;
let tso: TsoProcess;

beforeAll(async () => {
  data = tempDataDir();
  tso = await startTso(['--shards', '0-7', '--data', data.dir, '--max-count', '1000']);
});
afterAll(async () => {
  await tso?.kill();
  data?.remove();
});

/** One hostile frame: random bytes, mutated requests, wrong types, deep nesting, oversized, text. */
function hostileFrame(rnd: () => number, id: number): Buffer | string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const junkValue = (): unknown =>
    pick<() => unknown>([
      () => -1,
      () => 1024,
      () => 2 ** 31,
      () => 2 ** 53 + 2,
      () => -(2 ** 63),
      () => 1.5,
      () => NaN,
      () => Infinity,
      () => (1n << 64n) - 1n,
      () => -5n,
      () => 'x'.repeat(Math.floor(rnd() * 300)),
      () => null,
      () => true,
      () => [1, 2, 3],
      () => ({ nested: { deeper: [{}] } }),
      () => Buffer.from([1, 2, 3]),
      () => [[[['deep']]]], // (an ext type such as a timestamp has no plain msgpack form: case 10 sends those as raw bytes)
      () => 0,
      () => 7,
    ])();
  const kind = Math.floor(rnd() * 12);
  switch (kind) {
    case 0: // random bytes
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)));
    case 1: {
      // a valid request with a few bytes flipped
      const b = Buffer.from(encodeFrame({ id, op: 'ts.get', shard: Math.floor(rnd() * 8), count: 1 + Math.floor(rnd() * 50) }));
      for (let i = 0; i < 1 + rnd() * 3; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    }
    case 2: // a valid request, truncated or with trailing bytes
      return rnd() < 0.5
        ? encodeFrame({ id, op: 'ts.get', shard: 1, count: 1 }).subarray(0, Math.floor(rnd() * 10))
        : Buffer.concat([encodeFrame({ id, op: 'ts.get', shard: 1, count: 1 }), Buffer.from([0xc0])]);
    case 3: // wrong field types and out-of-range values
      return encodeFrame({ id, op: 'ts.get', shard: junkValue(), count: junkValue(), after: rnd() < 0.5 ? junkValue() : undefined });
    case 4: // bad envelopes
      return encodeFrame(pick<unknown>([{ id: junkValue(), op: 'ts.get', shard: 1, count: 1 }, { id, op: junkValue() }, { id, op: 'ping', v: junkValue() }, [id, 'ts.get'], 42, 'ts.get', null]));
    case 5: {
      // deep nesting: fixarray-of-one nested thousands of times
      const depth = 1000 + Math.floor(rnd() * 60_000);
      return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x01])]);
    }
    case 6: // oversized frame
      return Buffer.alloc(MAX_FRAME + 1 + Math.floor(rnd() * 1000), 0xa0);
    case 7: // text frame
      return JSON.stringify({ id, op: 'ts.get', shard: 1, count: 1 });
    case 8: // huge counts and negative shards
      return encodeFrame({ id, op: 'ts.get', shard: pick([-1, -1024, 0, 7, 8, 1023, 1024]), count: pick([0, -1, 1001, 2 ** 31 - 1, 2 ** 40, 1]) });
    case 9: // prototype-polluting keys and unknown ops
      return encodeFrame(JSON.parse(`{"__proto__": {"shard": 1, "count": 1}, "constructor": 1, "id": ${id}, "op": "${pick(['ts.get', 'tx.begin', '__proto__', 'toString', 'ping'])}"}`));
    case 10: // msgpack extension types and odd encodings
      return Buffer.from(pick([[0xd4, 0x01, 0x02], [0xc7, 0x02, 0x72, 0x00, 0x00], [0xd6, 0xff, 0, 0, 0, 1], [0xc1], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x7f, 0xff, 0xff, 0xff]]));
    default: // a well-formed request, so valid IDs also flow on hostile connections
      return encodeFrame({ id, op: 'ts.get', shard: Math.floor(rnd() * 8), count: 1 + Math.floor(rnd() * 5) });
  }
}

it(`stays up, keeps serving a well-behaved client and never issues a duplicate under ${FRAMES} hostile frames (seed ${SEED})`, async () => {
  const ledger = new Ledger();
  // Seeded so a failure can be replayed: the seed is in the test name.
  const rnd = mulberry32(SEED);

  // The well-behaved client keeps asking on its own connection throughout.
  const good = await RawClient.connect(tso.url);
  let stormOver = false;
  let goodAnswers = 0;
  const goodLoop = (async () => {
    for (let i = 0; !stormOver && i < 1_000_000; i++) {
      const shard = i % 8;
      const r = await good.ok<{ first: bigint; count: number }>('ts.get', { shard, count: 1 + (i % 7) });
      ledger.add('good', shard, r.first, r.count);
      goodAnswers++;
    }
  })();

  // Hostile connections: send frames until the server closes the connection, then reconnect.
  const closeCodes = new Map<number, number>();
  let sent = 0;
  let hostileOk = 0;
  const deadline = Date.now() + 60_000;
  const hostileWorker = async (w: number): Promise<void> => {
    while (sent < FRAMES && Date.now() < deadline) {
      const ws = new WebSocket(tso.url, { maxPayload: 1 << 20 });
      let observer = `hostile-${w}-${sent}`;
      const kinds: string[] = [];
      ws.on('message', (d) => {
        const f = decodeFrame(d as Buffer) as { t: string; id: number; ok?: { first?: unknown; count: number } };
        if (f.t !== 'res' || !f.ok || typeof f.ok.first !== 'bigint') return;
        // A successful answer: we cannot tell which shard from the frame alone, so decode it from the ID.
        hostileOk++;
        ledger.add(observer, TSO_LAYOUT.shardOf(f.ok.first), f.ok.first, f.ok.count);
      });
      ws.on('error', () => undefined);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      const opened = await new Promise<boolean>((r) => {
        ws.once('open', () => r(true));
        ws.once('close', () => r(false));
      });
      if (!opened) continue;
      observer = `hostile-${w}-${sent}`;
      while (ws.readyState === WebSocket.OPEN && sent < FRAMES) {
        const fr = hostileFrame(rnd, sent++);
        kinds.push(typeof fr === 'string' ? 'text' : fr.subarray(0, 8).toString('hex') + '/' + fr.length);
        ws.send(fr);
        if (sent % 25 === 0) await new Promise((r) => setImmediate(r));
      }
      if (ws.readyState === WebSocket.OPEN) ws.close();
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
      if (code === -1) {
        console.log('no close', ws.readyState, kinds.slice(-10));
        ws.terminate();
      }
      closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all([0, 1, 2, 3].map(hostileWorker));
  stormOver = true;
  await goodLoop;

  expect(sent).toBe(FRAMES);
  // The process is still up and healthy.
  expect(tso.proc.exitCode).toBeNull();
  const health = await fetch(`http://127.0.0.1:${tso.httpPort}/readyz`);
  expect(health.status).toBe(200);
  // The server closed hostile connections with protocol close codes only.
  for (const code of closeCodes.keys()) expect([1000, 1003, 1005, 1006, 1007, 1009]).toContain(code);
  expect(closeCodes.get(1007) ?? 0).toBeGreaterThan(0);
  expect(closeCodes.get(1009) ?? 0).toBeGreaterThan(0);
  expect(closeCodes.get(1003) ?? 0).toBeGreaterThan(0);
  // The well-behaved client was served throughout and after.
  expect(goodAnswers).toBeGreaterThan(10);
  const after = await good.ok<{ first: bigint; count: number }>('ts.get', { shard: 3, count: 2 });
  ledger.add('good', 3, after.first, after.count);
  await good.close();
  expect(hostileOk).toBeGreaterThan(0);
  expect(ledger.violations).toEqual([]);
});

