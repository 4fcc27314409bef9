/**
 * A seeded fuzz of request frames: the ops of the service (and others, and
 * junk), every field of every op filled with wrong types, integers in 64-bit
 * encodings, floats (NaN, ±Infinity, 5.0), strings, binary, nested arrays and
 * maps, plus now and then a frame over the nesting limit or with an extension
 * type (which must close with 1007). Every other frame must get exactly one
 * answer, and none may be INTERNAL.
 */
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, HOST_OPS, WireFloat } from '@pharaoh/protocol';
import { REGISTRY, type ServiceName } from '@pharaoh/registry';

const opsOf = (service: ServiceName): string[] => [...Object.keys(REGISTRY.get(service).ops), ...HOST_OPS];
import { mulberry32 } from '@pharaoh/testkit';
import { JS_INTERNALS } from './vector-runner.js';

export interface FuzzResult {
  /** Frames answered with one response. */
  answered: number;
  /** Frames that closed the connection with 1007 (as they must). */
  closedBy1007: number;
  internal: number;
  internalSamples: string[];
  /** `ok` or the error code → how many. */
  codes: Map<string, number>;
  /** Error messages that speak of JS internals. */
  leaks: string[];
}

const FIELDS = ['shard', 'count', 'after', 'txId', 'sessionId', 'epoch', 'producer', 'timeoutMs'];
const OTHER_OPS = ['ping', 'ts.get', 'tx.begin', 'tx.commit', 'tx.abort', 'tx.status', 'tx.heartbeat', 'session.open', 'session.heartbeat', 'session.close', 'session.validate', 'admin.info'];
const BATCH = 100;

type Rnd = () => number;

function pick<T>(rnd: Rnd, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** A value of any plain msgpack type, nested up to `depth` more levels. */
function junk(rnd: Rnd, depth: number): unknown {
  const kinds: Array<() => unknown> = [
    () => null,
    () => rnd() < 0.5,
    () => Math.floor(rnd() * 2048) - 1024,
    () => Math.floor(rnd() * 8),
    () => BigInt(Math.floor(rnd() * 2048)), // a small value in a 64-bit encoding
    () => -BigInt(Math.floor(rnd() * 1e6)) - 1n,
    () => pick(rnd, [2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, -(2n ** 63n), 2 ** 32, 2 ** 31, -(2 ** 31) - 1]),
    () => new WireFloat(pick(rnd, [5, 0.5, -1, NaN, Infinity, -Infinity, 1e300, -0, 1023])),
    () => 'x'.repeat(Math.floor(rnd() * 300)),
    () => pick(rnd, ['', 'é'.repeat(129), '1', 'ts.get', '__proto__', 'toString', '\u0000', '😀'.repeat(70)]),
    () => new Uint8Array(Math.floor(rnd() * 16)),
    () => (depth > 0 ? Array.from({ length: Math.floor(rnd() * 4) }, () => junk(rnd, depth - 1)) : []),
    () => {
      if (depth <= 0) return {};
      const m: Record<string, unknown> = {};
      for (let i = Math.floor(rnd() * 4); i > 0; i--) m[pick(rnd, ['toString', 'valueOf', 'a', 'shard', 'id', String(i)])] = junk(rnd, depth - 1);
      return m;
    },
  ];
  return pick(rnd, kinds)();
}

/** A field value: usually valid-looking for some op, often not. */
function fieldValue(rnd: Rnd): unknown {
  const r = rnd();
  if (r < 0.25) return pick(rnd, [0, 1, 3, 7, 100, 1000, 5000, 8192, 65536, 0n, 1n, 7n]);
  if (r < 0.35) return BigInt(Math.floor(rnd() * 1e15)) * 16_384n; // ID-like (below 2^64)
  if (r < 0.4) return 'p-' + Math.floor(rnd() * 100);
  return junk(rnd, Math.floor(rnd() * 30)); // nesting up to 31 levels: still decodable
}

function decodableFrame(rnd: Rnd, service: ServiceName, id: number): Uint8Array {
  const f: Record<string, unknown> = {};
  const r = rnd();
  f.id = r < 0.9 ? id : junk(rnd, 3);
  f.op = rnd() < 0.8 ? pick(rnd, opsOf(service)) : rnd() < 0.5 ? pick(rnd, OTHER_OPS) : junk(rnd, 3);
  if (rnd() < 0.15) f.v = rnd() < 0.3 ? 1 : junk(rnd, 30);
  for (const k of FIELDS) if (rnd() < 0.5) f[k] = fieldValue(rnd);
  if (rnd() < 0.2) f[pick(rnd, ['extra', '__proto__', 'constructor', 'pad'])] = junk(rnd, 5);
  // Keys in a random order (a shuffled copy): the server must not care.
  const keys = Object.keys(f).sort(() => rnd() - 0.5);
  const shuffled: Record<string, unknown> = {};
  for (const k of keys) {
    if (k === '__proto__') Object.defineProperty(shuffled, k, { value: f[k], enumerable: true, writable: true, configurable: true });
    else shuffled[k] = f[k];
  }
  return encodeFrame(shuffled);
}

/** A frame that must close the connection with 1007: nested beyond 32, or holding an extension type or 0xc1. */
function closingFrame(rnd: Rnd, id: number): Buffer {
  const head = encodeFrame({ id, op: 'ping' });
  // Rewrite the fixmap header from 2 to 3 entries and append `x: <bad value>`.
  const bad = pick(rnd, ['91'.repeat(33 + Math.floor(rnd() * 5000)) + 'c0', 'd6ff00000001', 'c1', 'd47201', 'c7084200000000000000ff', 'a2c328']);
  return Buffer.concat([Buffer.from([0x83]), head.subarray(1), Buffer.from('a178' + bad, 'hex')]);
}

interface Conn {
  ws: WebSocket;
  messages: Buffer[];
  closed: number | undefined;
  wake: (() => void) | undefined;
}

async function open(url: string, token: string): Promise<Conn> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const c: Conn = { ws, messages: [], closed: undefined, wake: undefined };
  ws.on('message', (d) => {
    c.messages.push(d as Buffer);
    c.wake?.();
  });
  ws.on('close', (code) => {
    c.closed = code;
    c.wake?.();
  });
  ws.on('error', () => undefined);
  await until(c, () => c.messages.length >= 1 || c.closed !== undefined);
  if (c.closed !== undefined) throw new Error(`connection closed before hello (${c.closed})`);
  c.messages.shift(); // the hello
  return c;
}

async function until(c: Conn, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('fuzz: no progress within 30 s');
    await new Promise<void>((r) => {
      c.wake = r;
      setTimeout(r, 50);
    });
  }
}

export async function fuzzService(url: string, token: string, service: ServiceName, frames: number, seed: number): Promise<FuzzResult> {
  const rnd = mulberry32(seed);
  const result: FuzzResult = { answered: 0, closedBy1007: 0, internal: 0, internalSamples: [], codes: new Map(), leaks: [] };
  let conn = await open(url, token);
  let sent = 0;
  while (sent < frames) {
    const n = Math.min(BATCH, frames - sent);
    const closing = n === BATCH && rnd() < 0.3;
    const decodable = closing ? n - 1 : n;
    const batch: Uint8Array[] = [];
    for (let i = 0; i < decodable; i++) batch.push(decodableFrame(rnd, service, sent + i));
    for (const b of batch) conn.ws.send(b);
    sent += n;
    await until(conn, () => conn.messages.length >= decodable || conn.closed !== undefined);
    for (let i = 0; i < batch.length && conn.messages.length > 0; i++) {
      const f = decodeFrame(conn.messages.shift()!) as { id: unknown; ok?: unknown; err?: { code: string; message: string } };
      result.answered++;
      const code = f.err === undefined ? 'ok' : f.err.code;
      result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
      if (code === 'INTERNAL' && result.internalSamples.length < 10) {
        // Answers may come in any order: find the request by its id (frames with a junk id answer with id nil).
        const req = typeof f.id === 'number' ? batch[f.id - (sent - n)] : undefined;
        result.internalSamples.push(`${f.err?.message} ← ${req === undefined ? '(id unreadable)' : Buffer.from(req).toString('hex')}`);
      }
      if (code === 'INTERNAL') result.internal++;
      if (f.err !== undefined && JS_INTERNALS.test(f.err.message)) result.leaks.push(f.err.message);
    }
    if (closing) {
      // After the batch's answers: a close drops the answers of requests still in flight.
      conn.ws.send(closingFrame(rnd, sent - 1));
      await until(conn, () => conn.closed !== undefined);
      if (conn.closed === 1007) result.closedBy1007++;
      conn = await open(url, token);
    } else if (conn.closed !== undefined) {
      throw new Error(`fuzz: the server closed the connection (${conn.closed}) after ${sent} frames`);
    }
  }
  conn.ws.terminate();
  return result;
}
