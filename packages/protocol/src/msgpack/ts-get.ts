/**
 * The most frequent request of the protocol, `ts.get`, read straight from its
 * bytes: no frame object, no envelope or field objects. Only a strict subset
 * is taken — a fixmap whose keys are exactly `id`, `op` (= "ts.get"),
 * `shard`, `count` and optionally `after`, once each and in any order, with
 * unsigned integer values in range (`after` a uint64 or smaller unsigned
 * encoding) and no byte after the map. Everything else — `v`, a nil, another
 * key, a negative or float encoding, an out-of-range value, anything
 * malformed — gives `undefined`, and the caller takes the general path
 * (decodeFrame, parseEnvelope, parseArgs), which accepts every request this
 * accepts, with the same values, and answers the rest as before.
 */
import { MAX_COUNT, MAX_REQUEST_ID, MAX_SHARD } from '../limits.js';

/** A `ts.get` request whose every field was checked. */
export interface TsGetRequest {
  id: number;
  shard: number;
  count: number;
  after: bigint | undefined;
}

const ID = 1;
const OP = 2;
const SHARD = 4;
const COUNT = 8;
const AFTER = 16;
const REQUIRED = ID | OP | SHARD | COUNT;

/** `ts.get` after its fixstr header. */
const TS_GET = [0x74, 0x73, 0x2e, 0x67, 0x65, 0x74];

let b: Uint8Array = new Uint8Array(0);
let pos = 0;

const EMPTY = new Uint8Array(0);

/** The request in `bytes` if it is a plain `ts.get` of the common shape, else undefined. */
export function readTsGetRequest(bytes: Uint8Array): TsGetRequest | undefined {
  const head = bytes[0];
  if (head !== 0x84 && head !== 0x85) return undefined;
  b = bytes;
  pos = 1;
  const request = readMap(head & 0x0f);
  b = EMPTY; // do not keep the frame alive until the next one
  return request;
}

function readMap(entries: number): TsGetRequest | undefined {
  let seen = 0;
  let id = -1;
  let shard = -1;
  let count = -1;
  let after: bigint | undefined;
  for (let e = entries; e > 0; e--) {
    const key = readKey();
    if (key === 0 || (seen & key) !== 0) return undefined;
    seen |= key;
    if (key === OP) {
      if (!readTsGetString()) return undefined;
    } else if (key === AFTER) {
      after = readId();
      if (after === undefined) return undefined;
    } else {
      const v = readUint32();
      if (key === ID) id = v;
      else if (key === SHARD) shard = v;
      else count = v;
    }
  }
  if (pos !== b.length || (seen & REQUIRED) !== REQUIRED) return undefined;
  if (id < 0 || id > MAX_REQUEST_ID || shard < 0 || shard > MAX_SHARD || count < 1 || count > MAX_COUNT) return undefined;
  return { id, shard, count, after };
}

/** The key at `pos` as one of the flags above, or 0 for any other key (or a key that is not a fixstr). */
function readKey(): number {
  const h = b[pos];
  if (h === undefined || (h & 0xe0) !== 0xa0) return 0;
  const len = h & 0x1f;
  const k = pos + 1;
  pos = k + len;
  if (pos > b.length) return 0;
  const c0 = b[k];
  if (len === 2) {
    if (c0 === 0x69 && b[k + 1] === 0x64) return ID; // id
    if (c0 === 0x6f && b[k + 1] === 0x70) return OP; // op
    return 0;
  }
  if (len === 5) {
    if (c0 === 0x73 && b[k + 1] === 0x68 && b[k + 2] === 0x61 && b[k + 3] === 0x72 && b[k + 4] === 0x64) return SHARD; // shard
    if (c0 === 0x63 && b[k + 1] === 0x6f && b[k + 2] === 0x75 && b[k + 3] === 0x6e && b[k + 4] === 0x74) return COUNT; // count
    if (c0 === 0x61 && b[k + 1] === 0x66 && b[k + 2] === 0x74 && b[k + 3] === 0x65 && b[k + 4] === 0x72) return AFTER; // after
  }
  return 0;
}

function readTsGetString(): boolean {
  if (b[pos] !== 0xa6 || pos + 7 > b.length) return false;
  for (let i = 0; i < 6; i++) if (b[pos + 1 + i] !== TS_GET[i]) return false;
  pos += 7;
  return true;
}

/** A positive fixint, uint8, uint16 or uint32; -1 for any other encoding (or truncation). */
function readUint32(): number {
  const h = b[pos];
  if (h === undefined) return -1;
  if (h <= 0x7f) {
    pos += 1;
    return h;
  }
  if (h === 0xcc && pos + 2 <= b.length) {
    pos += 2;
    return b[pos - 1]!;
  }
  if (h === 0xcd && pos + 3 <= b.length) {
    pos += 3;
    return (b[pos - 2]! << 8) | b[pos - 1]!;
  }
  if (h === 0xce && pos + 5 <= b.length) {
    pos += 5;
    return ((b[pos - 4]! << 24) | (b[pos - 3]! << 16) | (b[pos - 2]! << 8) | b[pos - 1]!) >>> 0;
  }
  return -1;
}

/** An ID: a uint64, or a smaller unsigned encoding; undefined for anything else. */
function readId(): bigint | undefined {
  if (b[pos] === 0xcf) {
    if (pos + 9 > b.length) return undefined;
    const hi = ((b[pos + 1]! << 24) | (b[pos + 2]! << 16) | (b[pos + 3]! << 8) | b[pos + 4]!) >>> 0;
    const lo = ((b[pos + 5]! << 24) | (b[pos + 6]! << 16) | (b[pos + 7]! << 8) | b[pos + 8]!) >>> 0;
    pos += 9;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  const v = readUint32();
  return v < 0 ? undefined : BigInt(v);
}
