import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defineLayout,
  IdRangeError,
  LayoutError,
  SESSION_LAYOUT,
  TSO_LAYOUT,
  TX_LAYOUT,
  type Layout,
} from '../src/index.js';

const U64_MAX = 18446744073709551615n; // 2^64 - 1

describe('golden vectors (hand-computed)', () => {
  it('encodes TSO IDs as time * 2^23 + shard * 2^13 + seq', () => {
    // TSO is 41|10|13: the shard sits above 13 seq bits, the time above 10 + 13 = 23 bits.
    // time 1 (1 ms after the epoch), shard 0, seq 0: 1 * 2^23 = 8388608.
    expect(TSO_LAYOUT.encode({ time: 1, shard: 0, seq: 0 })).toBe(8388608n);
    // time 1000, shard 7, seq 42: 1000 * 8388608 + 7 * 8192 + 42 = 8388608000 + 57344 + 42.
    expect(TSO_LAYOUT.encode({ time: 1000, shard: 7, seq: 42 })).toBe(8388665386n);
    // 2026-01-01T00:00:00Z is 365 days = 31536000000 ms after 2025-01-01:
    // 31536000000 * 8388608 + 57344 + 42 = 264543141888057386.
    expect(TSO_LAYOUT.encode({ time: 31536000000, shard: 7, seq: 42 })).toBe(264543141888057386n);
    // Every field at its maximum fills all 64 bits.
    expect(TSO_LAYOUT.encode({ time: 2 ** 41 - 1, shard: 1023, seq: 8191 })).toBe(U64_MAX);
  });

  it('encodes TX and SESSION IDs as time * 2^22 + shard * 2^12 + seq', () => {
    // 42|10|12: 31536000000 * 4194304 + 1023 * 4096 + 4095 = 132271570948194303.
    expect(TX_LAYOUT.encode({ time: 31536000000, shard: 1023, seq: 4095 })).toBe(132271570948194303n);
    expect(SESSION_LAYOUT.encode({ time: 31536000000, shard: 1023, seq: 4095 })).toBe(132271570948194303n);
    // time 1, shard 1, seq 1: 4194304 + 4096 + 1.
    expect(TX_LAYOUT.encode({ time: 1, shard: 1, seq: 1 })).toBe(4198401n);
  });

  it('decodes golden IDs back to their fields and date', () => {
    expect(TSO_LAYOUT.decode(264543141888057386n)).toEqual({
      time: 31536000000,
      shard: 7,
      seq: 42,
      date: new Date('2026-01-01T00:00:00.000Z'),
    });
    expect(TX_LAYOUT.decode(4198401n)).toEqual({ time: 1, shard: 1, seq: 1, date: new Date('2025-01-01T00:00:00.001Z') });
    expect(TSO_LAYOUT.decode(U64_MAX)).toMatchObject({ time: 2 ** 41 - 1, shard: 1023, seq: 8191 });
    expect(TSO_LAYOUT.decode(0n)).toEqual({ time: 0, shard: 0, seq: 0, date: new Date('2025-01-01T00:00:00Z') });
  });

  it('states when each layout runs out of time', () => {
    // 2025-01-01 is 1735689600000 ms; + 2^41 ms = 3934712855552 ms; + 2^42 ms = 6133736111104 ms.
    expect(TSO_LAYOUT.exhaustsAt.toISOString()).toBe('2094-09-07T15:47:35.552Z');
    expect(TX_LAYOUT.exhaustsAt.toISOString()).toBe('2164-05-15T07:35:11.104Z');
    expect(SESSION_LAYOUT.exhaustsAt.toISOString()).toBe('2164-05-15T07:35:11.104Z');
  });

  it('has the documented shape, epoch and unit', () => {
    expect(TSO_LAYOUT.toJSON()).toEqual({ name: 'tso', timeBits: 41, shardBits: 10, seqBits: 13, epochMs: 1735689600000, unitMs: 1 });
    expect(TX_LAYOUT.toJSON()).toEqual({ name: 'tx', timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 });
    expect(SESSION_LAYOUT.toJSON()).toMatchObject({ name: 'session', timeBits: 42, shardBits: 10, seqBits: 12 });
    expect([TSO_LAYOUT.maxTime, TSO_LAYOUT.maxShard, TSO_LAYOUT.maxSeq]).toEqual([2199023255551n, 1023, 8191]);
    expect(Object.isFrozen(TSO_LAYOUT)).toBe(true);
  });
});

describe('range checks', () => {
  it('refuses to decode anything that is not an unsigned 64-bit bigint, naming the range', () => {
    for (const bad of [-1n, U64_MAX + 1n, 2n ** 70n, 5, '5', undefined, null]) {
      expect(() => TSO_LAYOUT.decode(bad as bigint)).toThrow(RangeError);
      expect(() => TSO_LAYOUT.decode(bad as bigint)).toThrow(/id must be an integer in \[0, 18446744073709551615\]/);
    }
    expect(() => TSO_LAYOUT.shardOf(-1n)).toThrow(IdRangeError);
    expect(() => TSO_LAYOUT.compare(1n, U64_MAX + 1n)).toThrow(/b must be/);
  });

  it('refuses to encode an out-of-range field, naming the field and its range', () => {
    const ok = { time: 5, shard: 5, seq: 5 };
    expect(() => TSO_LAYOUT.encode({ ...ok, time: -1 })).toThrow(/time must be an integer in \[0, 2199023255551\]/);
    expect(() => TSO_LAYOUT.encode({ ...ok, time: 2 ** 41 })).toThrow(/time must be/);
    expect(() => TSO_LAYOUT.encode({ ...ok, time: 1.5 })).toThrow(/time must be/);
    expect(() => TSO_LAYOUT.encode({ ...ok, shard: 1024 })).toThrow(/shard must be an integer in \[0, 1023\]/);
    expect(() => TSO_LAYOUT.encode({ ...ok, seq: 8192 })).toThrow(/seq must be an integer in \[0, 8191\]/);
    expect(() => TX_LAYOUT.encode({ ...ok, seq: 4096 })).toThrow(/seq must be an integer in \[0, 4095\]/);
    expect(() => TSO_LAYOUT.encode({ ...ok, seq: -1 })).toThrow(RangeError);
    const err = (() => {
      try {
        TSO_LAYOUT.encode({ ...ok, shard: 2000 });
      } catch (e) {
        return e as IdRangeError;
      }
    })();
    expect(err).toMatchObject({ code: 'OUT_OF_RANGE', field: 'shard', min: 0, max: 1023, value: 2000 });
  });

  it('accepts a bigint time field', () => {
    expect(TSO_LAYOUT.encode({ time: 1n, shard: 0, seq: 0 })).toBe(TSO_LAYOUT.encode({ time: 1, shard: 0, seq: 0 }));
  });
});

describe('defineLayout', () => {
  it('builds a custom layout with its own epoch and unit', () => {
    const l = defineLayout({ name: 'tenths', timeBits: 40, shardBits: 4, seqBits: 20, epoch: new Date('2030-01-01Z'), unitMs: 100 });
    const id = l.encode({ time: 10, shard: 3, seq: 9 });
    expect(id).toBe((10n << l.timeShift) | (3n << l.shardShift) | 9n);
    expect(l.decode(id).date.toISOString()).toBe('2030-01-01T00:00:01.000Z');
    expect(l.unitAt(Date.UTC(2030, 0, 1) + 250)).toBe(2);
    expect(l.exhaustsAt.getTime()).toBe(Date.UTC(2030, 0, 1) + 2 ** 40 * 100);
  });

  it('refuses layouts whose bits do not total 64 or are out of range', () => {
    expect(() => defineLayout({ timeBits: 41, shardBits: 10, seqBits: 12 })).toThrow(/total 64/);
    expect(() => defineLayout({ timeBits: 41, shardBits: 10, seqBits: 14 })).toThrow(LayoutError);
    expect(() => defineLayout({ timeBits: 0, shardBits: 32, seqBits: 32 })).toThrow(/timeBits/);
    expect(() => defineLayout({ timeBits: 54, shardBits: 5, seqBits: 5 })).toThrow(/timeBits/);
    expect(() => defineLayout({ timeBits: 30, shardBits: 34, seqBits: 0 })).toThrow(/shardBits/);
    expect(() => defineLayout({ timeBits: 41.5, shardBits: 10, seqBits: 12.5 })).toThrow(RangeError);
    expect(() => defineLayout({ timeBits: 41, shardBits: 10, seqBits: 13, unitMs: 0 })).toThrow(/unitMs/);
    expect(() => defineLayout({ timeBits: 41, shardBits: 10, seqBits: 13, epoch: new Date('nope') })).toThrow(/epoch/);
    expect(() => defineLayout({ timeBits: 53, shardBits: 1, seqBits: 10 })).toThrow(/Date range/);
    try {
      defineLayout({ timeBits: 1, shardBits: 1, seqBits: 1 });
    } catch (e) {
      expect((e as LayoutError).code).toBe('INVALID_LAYOUT');
    }
  });
});

const layouts: Layout[] = [
  TSO_LAYOUT,
  TX_LAYOUT,
  // No shard bits, an odd unit and the Unix epoch: exercises the edge cases of the field math.
  defineLayout({ name: 'odd-unit', timeBits: 32, shardBits: 0, seqBits: 32, epoch: 0, unitMs: 7 }),
];

function fieldsOf(l: Layout) {
  return fc.record({
    time: fc.bigInt({ min: 0n, max: l.maxTime }).map(Number),
    shard: fc.integer({ min: 0, max: l.maxShard }),
    seq: fc.integer({ min: 0, max: l.maxSeq }),
  });
}

describe.each(layouts)('properties of layout $name', (l) => {
  it('decode(encode(x)) is the identity on the fields', () => {
    fc.assert(
      fc.property(fieldsOf(l), (f) => {
        const d = l.decode(l.encode(f));
        expect({ time: d.time, shard: d.shard, seq: d.seq }).toEqual(f);
        expect(d.date.getTime()).toBe(l.epochMs + f.time * l.unitMs);
      }),
      { numRuns: 2000 },
    );
  });

  it('encode(decode(id)) is the identity on every 64-bit value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), (id) => {
        expect(l.encode(l.decode(id))).toBe(id);
        expect(l.shardOf(id)).toBe(l.decode(id).shard);
        expect(l.timeOf(id)).toBe(l.decode(id).time);
      }),
      { numRuns: 2000 },
    );
  });

  it('orders IDs exactly as (time, shard, seq) tuples', () => {
    fc.assert(
      fc.property(fieldsOf(l), fieldsOf(l), (a, b) => {
        const tuple = Math.sign(a.time - b.time) || Math.sign(a.shard - b.shard) || Math.sign(a.seq - b.seq);
        expect(l.compare(l.encode(a), l.encode(b))).toBe(tuple === 0 ? 0 : tuple);
      }),
      { numRuns: 2000 },
    );
  });
});
