/**
 * Bit layouts of 64-bit IDs: `time | shard | seq`, most significant first.
 *
 * Because the fields are unsigned and packed from the top, numeric order of
 * IDs is exactly lexicographic order of (time, shard, seq). Shifts and masks
 * are computed once here, beside encode/decode; nothing else re-types them.
 */
import { IdRangeError, LayoutError } from './errors.js';

/** 2025-01-01T00:00:00Z: recent, so 41 bits of milliseconds last until 2094. */
export const DEFAULT_EPOCH_MS = Date.UTC(2025, 0, 1);
/** One millisecond per time unit: the wall clock's own resolution. */
export const DEFAULT_UNIT_MS = 1;

const MAX_U64 = (1n << 64n) - 1n;
/** Largest instant a JS Date can hold. */
const MAX_DATE_MS = 8.64e15;

export interface DecodedId {
  /** The raw time field: units since the layout's epoch. */
  time: number;
  shard: number;
  seq: number;
  /** Start of the time unit as a Date. */
  date: Date;
}

export interface IdFields {
  time: number | bigint;
  shard: number;
  seq: number;
}

export interface LayoutSpec {
  name?: string;
  timeBits: number;
  shardBits: number;
  seqBits: number;
  epoch?: Date | number;
  unitMs?: number;
}

export interface Layout {
  readonly name: string;
  readonly timeBits: number;
  readonly shardBits: number;
  readonly seqBits: number;
  /** Epoch in ms since the Unix epoch. */
  readonly epochMs: number;
  readonly unitMs: number;
  readonly maxTime: bigint;
  readonly maxShard: number;
  readonly maxSeq: number;
  /** `id >> timeShift` is the time field. */
  readonly timeShift: bigint;
  /** `(id >> shardShift) & shardMask` is the shard field. */
  readonly shardShift: bigint;
  readonly shardMask: bigint;
  /** `id & seqMask` is the sequence field. */
  readonly seqMask: bigint;
  /** First instant the time field can no longer represent. */
  readonly exhaustsAt: Date;
  encode(fields: IdFields): bigint;
  decode(id: bigint): DecodedId;
  compare(a: bigint, b: bigint): -1 | 0 | 1;
  shardOf(id: bigint): number;
  /** The raw time field of `id` (units since the epoch). */
  timeOf(id: bigint): number;
  /** Time unit containing the instant `ms` (ms since the Unix epoch); may be negative. */
  unitAt(ms: number): number;
  toJSON(): { name: string; timeBits: number; shardBits: number; seqBits: number; epochMs: number; unitMs: number };
}

class LayoutImpl implements Layout {
  readonly name: string;
  readonly timeBits: number;
  readonly shardBits: number;
  readonly seqBits: number;
  readonly epochMs: number;
  readonly unitMs: number;
  readonly maxTime: bigint;
  readonly maxShard: number;
  readonly maxSeq: number;
  readonly timeShift: bigint;
  readonly shardShift: bigint;
  readonly shardMask: bigint;
  readonly seqMask: bigint;
  readonly exhaustsAt: Date;

  constructor(name: string, timeBits: number, shardBits: number, seqBits: number, epochMs: number, unitMs: number) {
    this.name = name;
    this.timeBits = timeBits;
    this.shardBits = shardBits;
    this.seqBits = seqBits;
    this.epochMs = epochMs;
    this.unitMs = unitMs;
    this.maxTime = (1n << BigInt(timeBits)) - 1n;
    this.maxShard = 2 ** shardBits - 1;
    this.maxSeq = 2 ** seqBits - 1;
    this.timeShift = BigInt(shardBits + seqBits);
    this.shardShift = BigInt(seqBits);
    this.shardMask = BigInt(this.maxShard);
    this.seqMask = BigInt(this.maxSeq);
    this.exhaustsAt = new Date(epochMs + 2 ** timeBits * unitMs);
    Object.freeze(this);
  }

  encode(fields: IdFields): bigint {
    const time = checkTime(fields.time, this.maxTime);
    checkField('shard', fields.shard, this.maxShard);
    checkField('seq', fields.seq, this.maxSeq);
    return (time << this.timeShift) | (BigInt(fields.shard) << this.shardShift) | BigInt(fields.seq);
  }

  decode(id: bigint): DecodedId {
    checkId('id', id);
    const time = Number(id >> this.timeShift);
    return {
      time,
      shard: Number((id >> this.shardShift) & this.shardMask),
      seq: Number(id & this.seqMask),
      date: new Date(this.epochMs + time * this.unitMs),
    };
  }

  compare(a: bigint, b: bigint): -1 | 0 | 1 {
    checkId('a', a);
    checkId('b', b);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  shardOf(id: bigint): number {
    checkId('id', id);
    return Number((id >> this.shardShift) & this.shardMask);
  }

  timeOf(id: bigint): number {
    checkId('id', id);
    return Number(id >> this.timeShift);
  }

  unitAt(ms: number): number {
    return Math.floor((ms - this.epochMs) / this.unitMs);
  }

  toJSON() {
    const { name, timeBits, shardBits, seqBits, epochMs, unitMs } = this;
    return { name, timeBits, shardBits, seqBits, epochMs, unitMs };
  }
}

/** Throws unless `id` is a bigint in [0, 2^64 - 1]. */
export function checkId(field: string, id: unknown): asserts id is bigint {
  if (typeof id !== 'bigint' || id < 0n || id > MAX_U64) throw new IdRangeError(field, 0n, MAX_U64, id);
}

function checkField(field: string, v: unknown, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new IdRangeError(field, 0, max, v);
}

function checkTime(v: unknown, max: bigint): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= max) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && BigInt(v) <= max) return BigInt(v);
  throw new IdRangeError('time', 0n, max, v);
}

/**
 * Define a layout. Bits must total 64; the time field is limited to 53 bits so
 * that decoded times stay exact JS numbers, and the shard and sequence fields
 * to 32 bits each so the generator can count them with plain numbers.
 */
export function defineLayout(spec: LayoutSpec): Layout {
  const { timeBits, shardBits, seqBits } = spec;
  const name = spec.name ?? `custom-${timeBits}-${shardBits}-${seqBits}`;
  bits('timeBits', timeBits, 1, 53);
  bits('shardBits', shardBits, 0, 32);
  bits('seqBits', seqBits, 0, 32);
  if (timeBits + shardBits + seqBits !== 64) {
    throw new LayoutError(`timeBits + shardBits + seqBits must total 64, got ${timeBits + shardBits + seqBits}`);
  }
  const epoch = spec.epoch ?? DEFAULT_EPOCH_MS;
  const epochMs = epoch instanceof Date ? epoch.getTime() : epoch;
  if (typeof epochMs !== 'number' || !Number.isSafeInteger(epochMs) || Math.abs(epochMs) > MAX_DATE_MS) {
    throw new LayoutError(`epoch must be a valid Date or integer ms since the Unix epoch, got ${String(epoch)}`);
  }
  const unitMs = spec.unitMs ?? DEFAULT_UNIT_MS;
  if (typeof unitMs !== 'number' || !Number.isSafeInteger(unitMs) || unitMs < 1) {
    throw new LayoutError(`unitMs must be a positive integer, got ${String(unitMs)}`);
  }
  if (epochMs + 2 ** timeBits * unitMs > MAX_DATE_MS) {
    throw new LayoutError(`time field (${timeBits} bits of ${unitMs} ms) outlasts the JS Date range`);
  }
  if (typeof name !== 'string' || name.length === 0) throw new LayoutError('name must be a non-empty string');
  return new LayoutImpl(name, timeBits, shardBits, seqBits, epochMs, unitMs);
}

function bits(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new LayoutError(`${field} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
}

/**
 * Timestamp oracle: 41 bits of ms (until 2094), 1024 shards, 8192 IDs per ms
 * per shard (8.2 M/s), because a TSO serves the highest per-shard rate.
 */
export const TSO_LAYOUT: Layout = defineLayout({ name: 'tso', timeBits: 41, shardBits: 10, seqBits: 13 });
/** Transaction IDs: 42 bits of ms (until 2164), 1024 shards, 4096 per ms per shard. */
export const TX_LAYOUT: Layout = defineLayout({ name: 'tx', timeBits: 42, shardBits: 10, seqBits: 12 });
/** Session IDs: same shape as TX; a separate name so IDs are never mixed up. */
export const SESSION_LAYOUT: Layout = defineLayout({ name: 'session', timeBits: 42, shardBits: 10, seqBits: 12 });
/**
 * Schema ids (schema-registry): same shape as TX, because registrations are
 * rare (4096 per ms per shard is far beyond need) and 42 bits of ms last until
 * 2164; a separate name so a schema id is never taken for another service's ID.
 */
export const SCHEMA_LAYOUT: Layout = defineLayout({ name: 'schema', timeBits: 42, shardBits: 10, seqBits: 12 });
/**
 * CDC event IDs (service `sequencer`, `cdc.next`): TSO's shape, 41 bits of ms
 * (until 2094), 1024 shards, 8192 per ms per shard, because change events of
 * a busy table arrive at timestamp-like rates and are batched the same way;
 * time-based so a crash or a restore never makes them go back.
 */
export const CDC_LAYOUT: Layout = defineLayout({ name: 'cdc', timeBits: 41, shardBits: 10, seqBits: 13 });
