/**
 * The protocol's msgpack writer: plain msgpack only, in the smallest encoding
 * for each value, so every frame is readable by any msgpack library and the
 * bytes of a value are always the same (conformance vectors compare them).
 *
 * - `bigint` (IDs): uint64 (0xcf) when ≥ 0, int64 (0xd3) when negative;
 *   outside the 64-bit range it throws.
 * - integer `number`: the smallest integer encoding (fixint, uint8..uint64,
 *   int8..int64), so `ping.now` and `epochMs` go out as integers, never as
 *   floats; non-integers (and ±Infinity, NaN) as float64 (never sent by the
 *   server: the protocol has no float fields).
 * - strings as str (UTF-8), Uint8Array as bin, arrays, plain objects as maps
 *   (own enumerable keys; a key whose value is `undefined` is left out);
 *   `undefined` elsewhere as nil; a `WireFloat` as float64.
 * - anything else (Map, Set, Date, RegExp, class instances, functions,
 *   symbols) throws a TypeError: no value is ever written as an extension.
 */
import { WireFloat } from './decode.js';

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);

/**
 * Frames are written one after another into a slab and handed out as views of
 * it (no copy), like Node's own Buffer pool: a slab is never written twice, a
 * new one is taken when it is full, and it is freed once no frame of it lives.
 */
const SLAB_BYTES = 64 * 1024;
let buf = Buffer.allocUnsafe(SLAB_BYTES);
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
/** Where the frame being written starts in `buf`. */
let start = 0;
let pos = 0;

/** Encode `value` as one msgpack value, in a Buffer of exactly its size (a view that is never written again). */
export function encodeMsgpack(value: unknown): Buffer {
  start = pos;
  try {
    write(value, 0);
  } catch (e) {
    pos = start;
    throw e;
  }
  return finish();
}

/** The frame just written, as a view of the slab; the next frame starts 8-byte aligned after it. */
function finish(): Buffer {
  const out = buf.subarray(start, pos);
  pos = (pos + 7) & ~7;
  if (pos > buf.length) pos = buf.length;
  return out;
}

/** `{ t: 'res', id: ` as written by encodeMsgpack(okFrame(...)): a fixmap of 3, then the keys `t` (= `res`) and `id`. */
const OK_HEAD = [0x83, 0xa1, 0x74, 0xa3, 0x72, 0x65, 0x73, 0xa2, 0x69, 0x64];
/** The key `ok`. */
const OK_KEY = [0xa2, 0x6f, 0x6b];

/**
 * The bytes of `encodeMsgpack({ t: 'res', id, ok })`, written without making
 * that object or walking its keys: the frame every successful request is
 * answered with. `id` must be an integer (a request id).
 */
export function encodeOkResponse(id: number, ok: unknown): Buffer {
  start = pos;
  try {
    ensure(OK_HEAD.length);
    for (let i = 0; i < OK_HEAD.length; i++) buf[pos++] = OK_HEAD[i]!;
    writeNumber(id);
    ensure(OK_KEY.length);
    for (let i = 0; i < OK_KEY.length; i++) buf[pos++] = OK_KEY[i]!;
    write(ok, 1);
  } catch (e) {
    pos = start;
    throw e;
  }
  return finish();
}

/** `ok: { first: ` then `count: ` as the general writer writes an IdRange. */
const RANGE_FIRST = [0x82, 0xa5, 0x66, 0x69, 0x72, 0x73, 0x74];
const RANGE_COUNT = [0xa5, 0x63, 0x6f, 0x75, 0x6e, 0x74];

/**
 * The bytes of `encodeOkResponse(id, { first, count })` (a `ts.get` answer),
 * written without walking an object.
 */
export function encodeRangeResponse(id: number, first: bigint, count: number): Buffer {
  start = pos;
  try {
    ensure(OK_HEAD.length + OK_KEY.length + RANGE_FIRST.length + RANGE_COUNT.length);
    for (let i = 0; i < OK_HEAD.length; i++) buf[pos++] = OK_HEAD[i]!;
    writeNumber(id);
    ensure(OK_KEY.length + RANGE_FIRST.length);
    for (let i = 0; i < OK_KEY.length; i++) buf[pos++] = OK_KEY[i]!;
    for (let i = 0; i < RANGE_FIRST.length; i++) buf[pos++] = RANGE_FIRST[i]!;
    writeBigInt(first);
    ensure(RANGE_COUNT.length);
    for (let i = 0; i < RANGE_COUNT.length; i++) buf[pos++] = RANGE_COUNT[i]!;
    writeNumber(count);
  } catch (e) {
    pos = start;
    throw e;
  }
  return finish();
}

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  // Move the frame written so far to a new slab (large enough for it).
  const written = pos - start;
  let size = SLAB_BYTES;
  while (size < (written + n) * 2) size *= 2;
  const next = Buffer.allocUnsafe(size);
  buf.copy(next, 0, start, pos);
  buf = next;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  start = 0;
  pos = written;
}

function write(v: unknown, depth: number): void {
  if (depth > 64) throw new TypeError('cannot encode a value nested deeper than 64 levels (a cycle?)');
  switch (typeof v) {
    case 'number':
      return writeNumber(v);
    case 'string':
      return writeString(v);
    case 'bigint':
      return writeBigInt(v);
    case 'boolean':
      ensure(1);
      buf[pos++] = v ? 0xc3 : 0xc2;
      return;
    case 'undefined':
      ensure(1);
      buf[pos++] = 0xc0;
      return;
    case 'object': {
      if (v === null) {
        ensure(1);
        buf[pos++] = 0xc0;
        return;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto === Object.prototype || proto === null) return writeMap(v as Record<string, unknown>, depth);
      if (Array.isArray(v)) return writeArray(v, depth);
      if (v instanceof Uint8Array) return writeBin(v);
      if (v instanceof WireFloat) return writeFloat(v.value);
      throw new TypeError(`cannot encode a ${(v as object).constructor?.name ?? 'object'} as plain msgpack`);
    }
    default:
      throw new TypeError(`cannot encode a ${typeof v} as plain msgpack`);
  }
}

function writeNumber(n: number): void {
  if (!Number.isInteger(n)) return writeFloat(n);
  ensure(9);
  if (n >= 0) {
    if (n < 0x80) buf[pos++] = n;
    else if (n < 0x100) {
      buf[pos++] = 0xcc;
      buf[pos++] = n;
    } else if (n < 0x10000) {
      buf[pos++] = 0xcd;
      buf.writeUInt16BE(n, pos);
      pos += 2;
    } else if (n < 0x1_0000_0000) {
      buf[pos++] = 0xce;
      buf.writeUInt32BE(n, pos);
      pos += 4;
    } else if (n <= 2 ** 64 - 1) {
      buf[pos++] = 0xcf;
      buf.writeBigUInt64BE(BigInt(n), pos);
      pos += 8;
    } else writeFloat(n);
    return;
  }
  if (n >= -0x20) buf[pos++] = n & 0xff;
  else if (n >= -0x80) {
    buf[pos++] = 0xd0;
    buf.writeInt8(n, pos);
    pos += 1;
  } else if (n >= -0x8000) {
    buf[pos++] = 0xd1;
    buf.writeInt16BE(n, pos);
    pos += 2;
  } else if (n >= -0x8000_0000) {
    buf[pos++] = 0xd2;
    buf.writeInt32BE(n, pos);
    pos += 4;
  } else if (n >= -(2 ** 63)) {
    buf[pos++] = 0xd3;
    buf.writeBigInt64BE(BigInt(n), pos);
    pos += 8;
  } else writeFloat(n);
}

function writeFloat(n: number): void {
  ensure(9);
  buf[pos++] = 0xcb;
  buf.writeDoubleBE(n, pos);
  pos += 8;
}

function writeBigInt(v: bigint): void {
  ensure(9);
  if (v >= 0n) {
    if (v > MAX_U64) throw new TypeError('cannot encode an integer above 2^64 - 1 in msgpack');
    buf[pos++] = 0xcf;
    view.setBigUint64(pos, v);
  } else {
    if (v < MIN_I64) throw new TypeError('cannot encode an integer below -2^63 in msgpack');
    buf[pos++] = 0xd3;
    view.setBigInt64(pos, v);
  }
  pos += 8;
}

function writeString(s: string): void {
  const n = s.length;
  if (n < 32) {
    // Keys and op names: short ASCII, written byte by byte after a fixstr header.
    ensure(1 + n);
    const start = pos;
    buf[pos++] = 0xa0 | n;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos++] = c;
    }
    if (i === n) return;
    pos = start;
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  ensure(5 + bytes);
  writeLength(bytes, 0xa0, 32, 0xd9, 0xda, 0xdb);
  pos += buf.write(s, pos, bytes, 'utf8');
}

function writeBin(b: Uint8Array): void {
  ensure(5 + b.length);
  if (b.length < 0x100) {
    buf[pos++] = 0xc4;
    buf[pos++] = b.length;
  } else if (b.length < 0x10000) {
    buf[pos++] = 0xc5;
    buf.writeUInt16BE(b.length, pos);
    pos += 2;
  } else {
    buf[pos++] = 0xc6;
    buf.writeUInt32BE(b.length, pos);
    pos += 4;
  }
  buf.set(b, pos);
  pos += b.length;
}

function writeArray(a: unknown[], depth: number): void {
  ensure(5);
  writeLength(a.length, 0x90, 16, -1, 0xdc, 0xdd);
  for (let i = 0; i < a.length; i++) write(a[i], depth + 1);
}

function writeMap(o: Record<string, unknown>, depth: number): void {
  // One pass: a fixmap header is assumed and widened afterwards for 16 keys or more (rare).
  ensure(1);
  // Relative to the frame's start: writing the entries may move the frame to a new slab.
  const headAt = pos++ - start;
  let n = 0;
  for (const k of Object.keys(o)) {
    const value = o[k];
    if (value === undefined) continue;
    writeString(k);
    write(value, depth + 1);
    n++;
  }
  if (n < 16) {
    buf[start + headAt] = 0x80 | n;
    return;
  }
  const extra = n < 0x10000 ? 2 : 4;
  ensure(extra);
  const head = start + headAt;
  buf.copyWithin(head + 1 + extra, head + 1, pos);
  pos += extra;
  if (extra === 2) {
    buf[head] = 0xde;
    buf.writeUInt16BE(n, head + 1);
  } else {
    buf[head] = 0xdf;
    buf.writeUInt32BE(n, head + 1);
  }
}

/** A length header: the fix form below `fixLimit`, else the 8-bit (if any), 16-bit or 32-bit form. */
function writeLength(n: number, fix: number, fixLimit: number, b8: number, b16: number, b32: number): void {
  if (n < fixLimit) buf[pos++] = fix | n;
  else if (b8 >= 0 && n < 0x100) {
    buf[pos++] = b8;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = b16;
    buf.writeUInt16BE(n, pos);
    pos += 2;
  } else {
    buf[pos++] = b32;
    buf.writeUInt32BE(n, pos);
    pos += 4;
  }
}
