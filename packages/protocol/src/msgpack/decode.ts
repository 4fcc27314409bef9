/**
 * The protocol's msgpack reader: plain msgpack (the spec's base types) and
 * nothing else, so that what the server accepts is exactly what a client in
 * any language can write, and no input can reach a library extension.
 *
 * - nil, bool, str (valid UTF-8 only), bin, array, map, every integer
 *   encoding, float32/float64;
 * - integers decode by value, whatever their encoding: a safe integer
 *   (|v| ≤ 2^53 − 1) becomes a `number`, anything larger a `bigint`; so `9`
 *   sent as uint64 and as a fixint decode alike, and no integer is ever rounded;
 * - floats decode to a `WireFloat`, never to a `number`: the protocol has no
 *   float fields, and `5.0` must not pass for the integer 5;
 * - maps become plain objects; keys must be strings, and a key may not repeat;
 * - refused (DecodeError): ext types (msgpackr records, bigint, Error, RegExp,
 *   Set, typed arrays, structured clone, timestamps...), the never-used byte
 *   0xc1, invalid UTF-8, truncation, trailing bytes, containers nested deeper
 *   than MAX_DEPTH, and lengths larger than what is left of the frame.
 */
import { isUtf8 } from 'node:buffer';

/** Containers (arrays, maps) nested deeper than this are refused: no frame of the protocol needs more than 3. */
export const MAX_DEPTH = 32;

/** A msgpack float (float32 or float64). Kept apart from integers so validation can refuse it by name. */
export class WireFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return String(this.value);
  }
}

/** Bytes that are not one plain msgpack value of the protocol; `offset` is where reading stopped. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const TWO_32 = 2 ** 32;
/** Largest high word of a uint64 whose value is still a safe integer (2^53 − 1 = 0x1fffff_ffffffff). */
const SAFE_HI = 0x1f_ffff;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const hasOwn = Object.prototype.hasOwnProperty;

let src: Uint8Array = new Uint8Array(0);
/** A view on `src` for floats and 64-bit integers, made only when one is met. */
let dataView: DataView | undefined;
let pos = 0;

function view(): DataView {
  return (dataView ??= new DataView(src.buffer, src.byteOffset, src.byteLength));
}

/** Decode exactly one value filling all of `bytes`. Throws DecodeError. */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  src = bytes;
  dataView = undefined;
  pos = 0;
  try {
    if (bytes.length === 0) throw new DecodeError('an empty frame holds no msgpack value', 0);
    const value = read(0);
    if (pos !== bytes.length) {
      throw new DecodeError(`${bytes.length - pos} byte(s) follow the first msgpack value: a frame holds exactly one`, pos);
    }
    return value;
  } finally {
    // Do not keep the frame alive until the next one.
    src = EMPTY;
    dataView = undefined;
  }
}

const EMPTY = new Uint8Array(0);

function need(n: number): void {
  if (pos + n > src.length) throw new DecodeError(`truncated: ${n} more byte(s) needed at offset ${pos}, the frame has ${src.length}`, pos);
}

function read(depth: number): unknown {
  need(1);
  const at = pos;
  const b = src[pos++]!;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b <= 0x8f) return readMap(b & 0x0f, depth, at);
  if (b <= 0x9f) return readArray(b & 0x0f, depth, at);
  if (b <= 0xbf) return readKey(b & 0x1f);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return readBin(u8());
    case 0xc5: return readBin(u16());
    case 0xc6: return readBin(u32());
    case 0xca: need(4); pos += 4; return new WireFloat(view().getFloat32(pos - 4));
    case 0xcb: need(8); pos += 8; return new WireFloat(view().getFloat64(pos - 8));
    case 0xcc: return u8();
    case 0xcd: return u16();
    case 0xce: return u32();
    case 0xcf: return u64();
    case 0xd0: need(1); return (src[pos++]! << 24) >> 24;
    case 0xd1: need(2); pos += 2; return ((src[pos - 2]! << 24) | (src[pos - 1]! << 16)) >> 16;
    case 0xd2: need(4); pos += 4; return (src[pos - 4]! << 24) | (src[pos - 3]! << 16) | (src[pos - 2]! << 8) | src[pos - 1]!;
    case 0xd3: return i64();
    case 0xd9: return readStr(u8());
    case 0xda: return readStr(u16());
    case 0xdb: return readStr(u32());
    case 0xdc: return readArray(u16(), depth, at);
    case 0xdd: return readArray(u32(), depth, at);
    case 0xde: return readMap(u16(), depth, at);
    case 0xdf: return readMap(u32(), depth, at);
    case 0xc1:
      throw new DecodeError(`byte 0xc1 at offset ${at} is never used in msgpack`, at);
    default: // 0xc7-0xc9 ext 8/16/32, 0xd4-0xd8 fixext
      throw new DecodeError(`msgpack extension type (0x${b.toString(16)}) at offset ${at}: the protocol is plain msgpack, no extensions`, at);
  }
}

function u8(): number {
  need(1);
  return src[pos++]!;
}

function u16(): number {
  need(2);
  pos += 2;
  return (src[pos - 2]! << 8) | src[pos - 1]!;
}

/** The big-endian uint32 at `at` (no bounds check). */
function word(at: number): number {
  return ((src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!) >>> 0;
}

function u32(): number {
  need(4);
  pos += 4;
  return word(pos - 4);
}

function u64(): number | bigint {
  need(8);
  const hi = word(pos);
  const lo = word(pos + 4);
  pos += 8;
  if (hi <= SAFE_HI) return hi * TWO_32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function i64(): number | bigint {
  need(8);
  const hi = word(pos) | 0;
  const lo = word(pos + 4);
  pos += 8;
  // Safe when hi*2^32 + lo stays within ±(2^53 − 1).
  if (hi >= -SAFE_HI - 1 && hi <= SAFE_HI) {
    const v = hi * TWO_32 + lo;
    if (Number.isSafeInteger(v)) return v;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function readStr(len: number): string {
  need(len);
  const start = pos;
  pos += len;
  if (len < 24) {
    // Short strings (keys, op names) are almost always ASCII: build them directly.
    let s = '';
    for (let i = start; i < pos; i++) {
      const c = src[i]!;
      if (c >= 0x80) return readUtf8(start);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return readUtf8(start);
}

/**
 * Map keys and op names repeat in every frame ("id", "op", "ts.get", ...): short
 * ASCII strings are looked up in a small table by length and first/last bytes and compared
 * byte by byte, instead of building the same string again.
 */
const KEY_SLOTS = 1024;
const keyBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(KEY_SLOTS);
const keyStrings: Array<string | undefined> = new Array<string | undefined>(KEY_SLOTS);

function readKey(len: number): string {
  if (len === 0 || len > 16) return readStr(len);
  need(len);
  const start = pos;
  const slot = (len * 31 + src[start]! * 7 + src[start + len - 1]!) & (KEY_SLOTS - 1);
  const cached = keyBytes[slot];
  if (cached !== undefined && cached.length === len) {
    let i = 0;
    while (i < len && cached[i] === src[start + i]) i++;
    if (i === len) {
      pos += len;
      return keyStrings[slot]!;
    }
  }
  const key = readStr(len);
  for (let i = 0; i < len; i++) if (src[start + i]! >= 0x80) return key; // only ASCII keys are kept
  keyBytes[slot] = new Uint8Array(src.subarray(start, start + len));
  keyStrings[slot] = key;
  return key;
}

function readUtf8(start: number): string {
  const bytes = src.subarray(start, pos);
  if (!isUtf8(bytes)) throw new DecodeError(`the string at offset ${start} is not valid UTF-8`, start);
  return utf8.decode(bytes);
}

function readBin(len: number): Uint8Array {
  need(len);
  pos += len;
  // A copy in a plain Uint8Array: the frame's buffer is not kept alive, and no Buffer API leaks out.
  return new Uint8Array(src.subarray(pos - len, pos));
}

function enter(depth: number, at: number): number {
  if (depth >= MAX_DEPTH) throw new DecodeError(`arrays and maps nest deeper than ${MAX_DEPTH} levels at offset ${at}`, at);
  return depth + 1;
}

function readArray(n: number, depth: number, at: number): unknown[] {
  const d = enter(depth, at);
  // Every element takes at least one byte: a larger count cannot be honest.
  if (n > src.length - pos) throw new DecodeError(`an array of ${n} elements at offset ${at} is longer than the rest of the frame`, at);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = read(d);
  return out;
}

/**
 * The first keys of the map being read at each depth, for the repeat check of
 * small maps: comparing a few strings is cheaper than a property lookup.
 */
const SEEN_KEYS = 16;
const seenAt: string[][] = Array.from({ length: MAX_DEPTH + 1 }, () => new Array<string>(SEEN_KEYS).fill(''));

/** Is `key` already a key of `out`, whose first `i` keys are in `seen` (when i ≤ SEEN_KEYS)? */
function repeats(out: Record<string, unknown>, seen: string[], key: string, i: number): boolean {
  if (i > SEEN_KEYS) return hasOwn.call(out, key);
  for (let j = 0; j < i; j++) if (seen[j] === key) return true;
  return false;
}

function readMap(n: number, depth: number, at: number): Record<string, unknown> {
  const d = enter(depth, at);
  if (2 * n > src.length - pos) throw new DecodeError(`a map of ${n} entries at offset ${at} is longer than the rest of the frame`, at);
  const out: Record<string, unknown> = {};
  const seen = seenAt[d]!;
  for (let i = 0; i < n; i++) {
    const keyAt = pos;
    need(1);
    const b = src[pos]!;
    let key: string;
    if (b >= 0xa0 && b <= 0xbf) {
      pos++;
      key = readKey(b & 0x1f);
    } else if (b === 0xd9 || b === 0xda || b === 0xdb) {
      const k = read(d);
      key = k as string;
    } else {
      throw new DecodeError(`a map key at offset ${keyAt} is not a string: the protocol's maps have string keys`, keyAt);
    }
    if (repeats(out, seen, key, i)) throw new DecodeError(`map key ${JSON.stringify(key.slice(0, 64))} repeats at offset ${keyAt}`, keyAt);
    if (i < SEEN_KEYS) seen[i] = key;
    const value = read(d);
    // `__proto__` is an ordinary key on the wire: keep it as an own property, never as the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}
