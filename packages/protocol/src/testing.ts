/**
 * `@pharaoh/protocol/testing`: the conformance vectors of docs/protocol/
 * (format in docs/protocol/README.md) as data, and the pieces every runner
 * needs: tagged JSON ↔ values, `{var}` substitution in hex frames, and the
 * shape matcher for answers. No sockets here: runners bring their own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WireFloat } from './msgpack/decode.js';

/** docs/protocol/vectors/ in this repository. */
export const VECTORS_DIR = fileURLToPath(new URL('../../../docs/protocol/vectors/', import.meta.url));

/**
 * A msgpack value written as JSON: plain JSON for nil, booleans, strings,
 * safe integers, arrays and maps; `{"$u64": "<decimal>"}` / `{"$i64": "<decimal>"}`
 * for integers beyond 2^53; `{"$f64": <number | "NaN" | "Infinity" | "-Infinity">}`
 * for floats; `{"$bin": "<hex>"}` for binary; `{"$var": "<name>"}` for a value
 * captured from an earlier answer.
 */
export type Tagged = null | boolean | number | string | Tagged[] | { [key: string]: Tagged };

/**
 * What an answer must look like. A JSON value is compared exactly (tagged as
 * above); `"$uint"`, `"$int"`, `"$u64"`, `"$string"`, `"$bool"`, `"$nil"`,
 * `"$array"`, `"$map"`, `"$any"` match a type; `{"$gt": "<var>"}` an integer
 * above a captured one; `{"$oneOf": [...]}` any of the shapes; a map lists keys
 * that must be present and match (others may be there too); `{"$absent": true}`
 * as a key's shape says the key must be missing.
 */
export type Shape = Tagged;

export type Expect =
  | { ok: Shape; id: number }
  | { err: Shape; id: number | null }
  | { close: number }
  | { pongs: string[] };

export interface Step {
  /** Hex of one binary frame; `{name}` stands for a captured integer written as uint64 (cf + 8 bytes), `{name:i64}` as int64 (d3 + 8 bytes). */
  send?: string;
  /** The value `send` holds (tagged JSON), for readers and decoders; absent when it is not decodable. */
  value?: Tagged;
  /** `send` is exactly what a conforming encoder writes for `value` (smallest encodings, keys in this order). */
  canonical?: boolean;
  /** Send a text frame with this content instead. */
  sendText?: string;
  /** Hex written straight to the TCP connection (a WebSocket-level violation; needs raw socket access). */
  sendRawWs?: string;
  /** Send WebSocket pings with these payloads (hex), back to back. */
  pings?: string[];
  /** Send one binary frame of `length` bytes, all `byte` (hex): an oversized frame. */
  fill?: { byte: string; length: number };
  /** Wait this long before the step's send (timeouts). */
  waitMs?: number;
  /** Names for parts of the `ok` answer, by dotted path (e.g. `"txId": "txId"`), usable as `{txId}` later. */
  capture?: Record<string, string>;
  /** What the server does in answer: one response frame, a close, or a pong. */
  expect: Expect;
  note?: string;
}

export interface VectorCase {
  name: string;
  /** Services the case runs against. */
  services: string[];
  /** The role of the token to connect with (default admin), or `"none"`: then `httpStatus` is expected. */
  token?: 'admin' | 'client' | 'none';
  /** The upgrade is refused with this HTTP status (no hello). */
  httpStatus?: number;
  /** The first frame (the server's hello) must match this. */
  hello?: Shape;
  steps: Step[];
}

export interface VectorFile {
  title: string;
  description: string;
  cases: VectorCase[];
}

/** A server frame and what it decodes to: for client decoders. */
export interface DecodingVector {
  name: string;
  frame: string;
  value: Tagged;
  /** What a client makes of it: `hello`, `ok`, or the error code. */
  meaning: string;
}

export interface DecodingFile {
  title: string;
  description: string;
  frames: DecodingVector[];
}

/** How the conformance servers are started (docs/protocol/vectors/setup.json). */
export interface Setup {
  shards: string;
  tokens: { admin: string; client: string };
  flags: Record<string, string[]>;
  limits: { maxFrameBytes: number; maxInFlight: number; maxCount: number };
}

/** Every exchange file in `dir` (all but setup.json and responses.json), by file name. */
export function loadExchangeVectors(dir = VECTORS_DIR): Array<[string, VectorFile]> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'setup.json' && f !== 'responses.json')
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as VectorFile]);
}

export function loadDecodingVectors(dir = VECTORS_DIR): DecodingFile {
  return JSON.parse(readFileSync(join(dir, 'responses.json'), 'utf8')) as DecodingFile;
}

export function loadSetup(dir = VECTORS_DIR): Setup {
  return JSON.parse(readFileSync(join(dir, 'setup.json'), 'utf8')) as Setup;
}

export type Vars = Map<string, bigint>;

/** `{name}` or `{name:i64}` in a hex frame: a captured integer, written as uint64 (cf) or int64 (d3). */
export const VAR_RE = /\{([A-Za-z0-9_]+)(?::(u64|i64))?\}/g;

/** Replace every `{name}` / `{name:i64}` in a hex frame by the captured integer. */
export function fillHex(hex: string, vars: Vars): Buffer {
  const filled = hex.replace(VAR_RE, (_m, name: string, form: string | undefined) => {
    const v = vars.get(name);
    if (v === undefined) throw new Error(`vector uses {${name}}, which no earlier step captured`);
    return `${form === 'i64' ? 'd3' : 'cf'}${v.toString(16).padStart(16, '0')}`;
  });
  return Buffer.from(filled.replace(/\s+/g, ''), 'hex');
}

/** Tagged JSON → the value the protocol decoder yields (bigint beyond 2^53, WireFloat, Uint8Array). */
export function fromTagged(t: Tagged, vars: Vars = new Map()): unknown {
  if (t === null || typeof t !== 'object') return t;
  if (Array.isArray(t)) return t.map((x) => fromTagged(x, vars));
  const keys = Object.keys(t);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const v = t[k];
    if (k === '$u64' || k === '$i64') {
      const n = BigInt(v as string);
      return n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    if (k === '$f64') return new WireFloat(Number(v));
    if (k === '$bin') return new Uint8Array(Buffer.from(v as string, 'hex'));
    if (k === '$var') {
      const x = vars.get(v as string);
      if (x === undefined) throw new Error(`unknown var ${String(v)}`);
      return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: fromTagged(t[k]!, vars), enumerable: true, writable: true, configurable: true });
    else out[k] = fromTagged(t[k]!, vars);
  }
  return out;
}

/** A decoded value → tagged JSON (the inverse of fromTagged). */
export function toTagged(v: unknown): Tagged {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    throw new Error(`toTagged: ${v} is not a safe integer (use WireFloat or bigint)`);
  }
  if (typeof v === 'bigint') return v >= 0n ? { $u64: v.toString() } : { $i64: v.toString() };
  if (v instanceof WireFloat) return { $f64: Number.isFinite(v.value) ? v.value : String(v.value) };
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(toTagged);
  const out: Record<string, Tagged> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined) continue;
    // A `__proto__` key is data on the wire: keep it as an own key, never as the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: toTagged(x), enumerable: true, writable: true, configurable: true });
    else out[k] = toTagged(x);
  }
  return out;
}

function asBig(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

const TYPES: Record<string, (v: unknown) => boolean> = {
  $uint: (v) => (asBig(v) ?? -1n) >= 0n,
  $int: (v) => asBig(v) !== undefined,
  $u64: (v) => {
    const b = asBig(v);
    return b !== undefined && b >= 0n && b < 1n << 64n;
  },
  $string: (v) => typeof v === 'string',
  $bool: (v) => typeof v === 'boolean',
  $nil: (v) => v === null,
  $array: (v) => Array.isArray(v),
  $map: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof WireFloat),
  $any: () => true,
};

/** Where `actual` does not match `shape`, as `path: why` lines (empty when it matches). */
export function matchShape(actual: unknown, shape: Shape, vars: Vars = new Map(), path = '$'): string[] {
  if (typeof shape === 'string' && shape.startsWith('$') && shape in TYPES) {
    return TYPES[shape]!(actual) ? [] : [`${path}: expected ${shape}, got ${show(actual)}`];
  }
  if (shape !== null && typeof shape === 'object' && !Array.isArray(shape)) {
    const keys = Object.keys(shape);
    if (keys.length === 1 && keys[0] === '$gt') {
      const limit = vars.get(shape.$gt as string);
      const a = asBig(actual);
      if (limit === undefined) return [`${path}: unknown var ${String(shape.$gt)}`];
      return a !== undefined && a > limit ? [] : [`${path}: expected an integer above ${limit}, got ${show(actual)}`];
    }
    if (keys.length === 1 && keys[0] === '$oneOf') {
      const options = shape.$oneOf as Shape[];
      return options.some((o) => matchShape(actual, o, vars, path).length === 0) ? [] : [`${path}: matches none of ${JSON.stringify(options)}, got ${show(actual)}`];
    }
    if (keys.length === 1 && keys[0]!.startsWith('$') && keys[0] !== '$absent') {
      return sameValue(actual, fromTagged(shape, vars)) ? [] : [`${path}: expected ${JSON.stringify(shape)}, got ${show(actual)}`];
    }
    if (!TYPES.$map!(actual)) return [`${path}: expected a map, got ${show(actual)}`];
    const a = actual as Record<string, unknown>;
    const out: string[] = [];
    for (const k of keys) {
      const sub = shape[k]!;
      const has = Object.prototype.hasOwnProperty.call(a, k);
      if (sub !== null && typeof sub === 'object' && !Array.isArray(sub) && (sub as { $absent?: unknown }).$absent === true) {
        if (has) out.push(`${path}.${k}: expected no such key, got ${show(a[k])}`);
        continue;
      }
      if (!has) out.push(`${path}.${k}: missing`);
      else out.push(...matchShape(a[k], sub, vars, `${path}.${k}`));
    }
    return out;
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(actual) || actual.length !== shape.length) return [`${path}: expected an array of ${shape.length}, got ${show(actual)}`];
    return shape.flatMap((s, i) => matchShape(actual[i], s, vars, `${path}[${i}]`));
  }
  return sameValue(actual, shape) ? [] : [`${path}: expected ${JSON.stringify(shape)}, got ${show(actual)}`];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (asBig(a) !== undefined && asBig(b) !== undefined) return asBig(a) === asBig(b);
  if (a instanceof WireFloat && b instanceof WireFloat) return Object.is(a.value, b.value);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return a === b;
}

/** Read `path` (dotted) from an answer's `ok` as an integer. */
export function pick(ok: unknown, path: string): bigint {
  let v: unknown = ok;
  for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  const b = asBig(v);
  if (b === undefined) throw new Error(`capture ${path}: not an integer in ${show(ok)}`);
  return b;
}

export function show(v: unknown): string {
  try {
    return JSON.stringify(toTagged(v));
  } catch {
    return String(v);
  }
}
