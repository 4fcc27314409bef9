/**
 * The kinds of request fields and their one check each. A refusal says which
 * field, what it must be, and what was received, in msgpack terms (nil,
 * boolean, integer, float, string, binary, array, map): never a JS type name.
 *
 * Integers are accepted in every msgpack encoding (a small value written as
 * uint64 is fine: the decoder gives `number` or `bigint` by value); floats
 * (including 5.0, NaN, ±Infinity) and integers outside the field's range are
 * refused.
 */
import { ERROR_CODES, ProtocolError } from './errors.js';
import { MAX_COUNT, MAX_EPOCH, MAX_PRODUCER_NAME_BYTES, MAX_SHARD, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from './limits.js';
import { WireFloat } from './msgpack/decode.js';

/** Field kinds of request arguments, with the TypeScript type each parses to. */
export interface FieldKinds {
  /** 0..1023 */
  shard: number;
  /** 1..MAX_COUNT (the server may announce a smaller `limits.maxCount`) */
  count: number;
  /** MIN_TIMEOUT_MS..MAX_TIMEOUT_MS */
  timeoutMs: number;
  /** 0..MAX_EPOCH */
  epoch: number;
  /** a 64-bit unsigned ID, 0..2^64−1 */
  id: bigint;
  /** 1..MAX_PRODUCER_NAME_BYTES bytes of UTF-8 */
  producer: string;
}

export type FieldKind = keyof FieldKinds;

const MAX_U64 = (1n << 64n) - 1n;

/** Integer ranges of the integer kinds. */
export const INT_RANGES: Readonly<Record<'shard' | 'count' | 'timeoutMs' | 'epoch', readonly [number, number]>> = {
  shard: [0, MAX_SHARD],
  count: [1, MAX_COUNT],
  timeoutMs: [MIN_TIMEOUT_MS, MAX_TIMEOUT_MS],
  epoch: [0, MAX_EPOCH],
};

/** What a field of `kind` must be, as said in error messages and the spec. */
export function expectation(kind: FieldKind): string {
  switch (kind) {
    case 'id':
      return 'an unsigned 64-bit integer (0..18446744073709551615)';
    case 'producer':
      return `a string of 1..${MAX_PRODUCER_NAME_BYTES} bytes of UTF-8`;
    default: {
      const [min, max] = INT_RANGES[kind];
      return `an integer in ${min}..${max}`;
    }
  }
}

/** A received value described in msgpack terms, short enough for a log line. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return `a boolean (${v})`;
    case 'number':
      return Number.isInteger(v) ? String(v) : `a float (${v})`;
    case 'bigint':
      return String(v);
    case 'string':
      return v.length <= 32 ? `a string (${JSON.stringify(v)})` : `a string of ${Buffer.byteLength(v, 'utf8')} bytes`;
    default:
      if (v instanceof WireFloat) return `a float (${v.value})`;
      if (v instanceof Uint8Array) return `binary data (${v.length} bytes)`;
      if (Array.isArray(v)) return `an array (${v.length} elements)`;
      return 'a map';
  }
}

/** `<where><field> must be <what>, got <value>` as a BAD_REQUEST naming the field. */
export function badField(where: string, field: string, kind: FieldKind | string, value: unknown): ProtocolError {
  const what = kind in INT_RANGES || kind === 'id' || kind === 'producer' ? expectation(kind as FieldKind) : kind;
  const got = value === undefined ? 'it is missing' : `got ${describeValue(value)}`;
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `${where}${field} must be ${what}; ${got}`, { field });
}

/** An integer in [min, max] from any msgpack integer encoding, or undefined. */
export function intIn(v: unknown, min: number, max: number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= min && v <= max ? v : undefined;
  // Decoded bigints are beyond 2^53: outside every integer field's range. In-process callers may still pass small ones.
  if (typeof v === 'bigint') return v >= BigInt(min) && v <= BigInt(max) ? Number(v) : undefined;
  return undefined;
}

/** Check one present (non-nil) field value of `kind`; throws BAD_REQUEST naming `field`. */
export function readField<K extends FieldKind>(where: string, field: string, kind: K, v: unknown): FieldKinds[K] {
  switch (kind) {
    case 'id': {
      if (typeof v === 'bigint') {
        if (v >= 0n && v <= MAX_U64) return v as FieldKinds[K];
      } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v) as FieldKinds[K];
      throw badField(where, field, kind, v);
    }
    case 'producer': {
      if (typeof v === 'string' && v.length > 0 && v.length <= MAX_PRODUCER_NAME_BYTES && Buffer.byteLength(v, 'utf8') <= MAX_PRODUCER_NAME_BYTES) {
        return v as FieldKinds[K];
      }
      throw badField(where, field, kind, v);
    }
    default: {
      const [min, max] = INT_RANGES[kind as 'shard'];
      const n = intIn(v, min, max);
      if (n === undefined) throw badField(where, field, kind, v);
      return n as FieldKinds[K];
    }
  }
}
