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
import { MAX_BINARY_BYTES, MAX_COUNT, MAX_EPOCH, MAX_NAME_BYTES, MAX_PRODUCER_NAME_BYTES, MAX_SHARD, MAX_TEXT_BYTES, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from './limits.js';
import { WireFloat } from './msgpack/decode.js';

/** Scalar field kinds of request arguments, with the TypeScript type each parses to. */
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
  /** 1..MAX_NAME_BYTES bytes of UTF-8: a group, member, subject, table, topic or partition name */
  name: string;
  /** 1..MAX_TEXT_BYTES bytes of UTF-8: a document such as a schema */
  text: string;
  /** msgpack bin of 0..MAX_BINARY_BYTES bytes: opaque client data */
  bytes: Uint8Array;
  /** an integer in 0..2^53−1 */
  uint: number;
  /** msgpack true or false */
  bool: boolean;
}

export type ScalarKind = keyof FieldKinds;

/**
 * A list field: a msgpack array of at most `max` maps, each checked with
 * `list` like an op's own fields (an item's unknown keys are ignored, its
 * optional fields may be absent or nil). Items may hold lists in turn.
 */
export interface ListKind {
  readonly list: readonly FieldSpec[];
  readonly max: number;
}

export type FieldKind = ScalarKind | ListKind;

/** One argument of an op (or of a list item): its name, its kind, and whether it may be left out (absent or nil). */
export type FieldSpec = readonly [name: string, kind: FieldKind, optional: boolean];

type RequiredArgs<F extends readonly FieldSpec[]> = { [S in F[number] as S[2] extends false ? S[0] : never]: FieldValue<S[1]> };
type OptionalArgs<F extends readonly FieldSpec[]> = { [S in F[number] as S[2] extends true ? S[0] : never]?: FieldValue<S[1]> };
type Flat<T> = { [K in keyof T]: T[K] };
/** The checked values of a list of field specs (an op's arguments, a list item). */
export type ArgsOfFields<F extends readonly FieldSpec[]> = Flat<RequiredArgs<F> & OptionalArgs<F>>;
/** What a field of kind `K` parses to. */
export type FieldValue<K> = K extends ScalarKind ? FieldKinds[K] : K extends { readonly list: infer F extends readonly FieldSpec[] } ? Array<ArgsOfFields<F>> : never;

const MAX_U64 = (1n << 64n) - 1n;

type IntKind = 'shard' | 'count' | 'timeoutMs' | 'epoch' | 'uint';
/** Integer ranges of the integer kinds. */
export const INT_RANGES: Readonly<Record<IntKind, readonly [number, number]>> = {
  shard: [0, MAX_SHARD],
  count: [1, MAX_COUNT],
  timeoutMs: [MIN_TIMEOUT_MS, MAX_TIMEOUT_MS],
  epoch: [0, MAX_EPOCH],
  uint: [0, Number.MAX_SAFE_INTEGER],
};

/** Byte lengths of the string kinds (UTF-8 bytes, not characters). */
const STRING_BYTES: Readonly<Record<'producer' | 'name' | 'text', readonly [number, number]>> = {
  producer: [1, MAX_PRODUCER_NAME_BYTES],
  name: [1, MAX_NAME_BYTES],
  text: [1, MAX_TEXT_BYTES],
};

const SCALAR_KINDS: ReadonlySet<string> = new Set<ScalarKind>(['shard', 'count', 'timeoutMs', 'epoch', 'id', 'producer', 'name', 'text', 'bytes', 'uint', 'bool']);

/** Is `kind` a field kind (rather than a free-form expectation)? */
function isFieldKind(kind: FieldKind | string): kind is FieldKind {
  return typeof kind !== 'string' || SCALAR_KINDS.has(kind);
}

/** Is `v` a decoded msgpack map (not nil, an array, binary data or a scalar)? */
export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === Object.prototype;
}

/** What a field of `kind` must be, as said in error messages and the spec. */
export function expectation(kind: FieldKind): string {
  if (typeof kind !== 'string') return `an array of at most ${kind.max} maps`;
  switch (kind) {
    case 'id':
      return 'an unsigned 64-bit integer (0..18446744073709551615)';
    case 'producer':
    case 'name':
    case 'text': {
      const [min, max] = STRING_BYTES[kind];
      return `a string of ${min}..${max} bytes of UTF-8`;
    }
    case 'bytes':
      return `binary data (msgpack bin) of 0..${MAX_BINARY_BYTES} bytes`;
    case 'bool':
      return 'a boolean';
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
  const what = isFieldKind(kind) ? expectation(kind) : kind;
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

/** Check one present (non-nil) field value of `kind`; throws BAD_REQUEST naming `field` (`items[2].offset` inside lists). */
export function readField<K extends FieldKind>(where: string, field: string, kind: K, v: unknown): FieldValue<K> {
  if (typeof kind !== 'string') return readList(where, field, kind as ListKind, v) as FieldValue<K>;
  switch (kind as ScalarKind) {
    case 'id': {
      if (typeof v === 'bigint') {
        if (v >= 0n && v <= MAX_U64) return v as FieldValue<K>;
      } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v) as FieldValue<K>;
      throw badField(where, field, kind, v);
    }
    case 'producer':
    case 'name':
    case 'text': {
      const [min, max] = STRING_BYTES[kind as 'name'];
      // A UTF-16 code unit takes at most 3 bytes of UTF-8: short strings need no byte count.
      if (typeof v === 'string' && v.length >= min && v.length <= max && (v.length * 3 <= max || Buffer.byteLength(v, 'utf8') <= max)) {
        return v as FieldValue<K>;
      }
      throw badField(where, field, kind, v);
    }
    case 'bytes':
      if (v instanceof Uint8Array && v.length <= MAX_BINARY_BYTES) return v as FieldValue<K>;
      throw badField(where, field, kind, v);
    case 'bool':
      if (typeof v === 'boolean') return v as FieldValue<K>;
      throw badField(where, field, kind, v);
    default: {
      const [min, max] = INT_RANGES[kind as IntKind];
      const n = intIn(v, min, max);
      if (n === undefined) throw badField(where, field, kind, v);
      return n as FieldValue<K>;
    }
  }
}

/**
 * Check `frame`'s fields against `specs` (an op's arguments or a list item):
 * a required field absent or nil, or any field of the wrong kind, is a
 * BAD_REQUEST naming it; optional fields sent as nil count as absent.
 */
export function readFields(where: string, prefix: string, specs: readonly FieldSpec[], frame: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (let i = 0; i < specs.length; i++) {
    const [name, kind, optional] = specs[i]!;
    const raw = frame[name];
    if (raw === undefined || raw === null) {
      if (!optional) throw badField(where, prefix + name, kind, raw);
      continue;
    }
    args[name] = readField(where, prefix + name, kind, raw);
  }
  return args;
}

function readList(where: string, field: string, kind: ListKind, v: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(v) || v.length > kind.max) throw badField(where, field, kind, v);
  const out = new Array<Record<string, unknown>>(v.length);
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    if (!isMap(item)) throw badField(where, `${field}[${i}]`, 'a map', item);
    out[i] = readFields(where, `${field}[${i}].`, kind.list, item);
  }
  return out;
}
