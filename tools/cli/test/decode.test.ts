import { describe, expect, it } from 'vitest';
import { TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import { decodeAll, formatDecoded, parseId } from '../src/decode.js';

describe('decode', () => {
  // (1000 << 23) | (5 << 13) | 7: TSO time 1000 ms, shard 5, seq 7. Read with the
  // TX/session layout (42|10|12) the same bits are time 2000, shard 10, seq 7.
  const ID = 8388648967n;

  it('prints the golden decoding of a known ID under every layout', () => {
    expect(formatDecoded(ID)).toBe(
      [
        'id 8388648967 (0x00000001f400a007)',
        'layout   bits      time  shard  seq  date (UTC)',
        'tso      41|10|13  1000  5      7    2025-01-01T00:00:01.000Z',
        'tx       42|10|12  2000  10     7    2025-01-01T00:00:02.000Z',
        'session  42|10|12  2000  10     7    2025-01-01T00:00:02.000Z',
      ].join('\n'),
    );
  });

  it('agrees with the layouts it decodes with', () => {
    expect(TSO_LAYOUT.encode({ time: 1000, shard: 5, seq: 7 })).toBe(ID);
    const id = TX_LAYOUT.encode({ time: 123_456_789, shard: 1023, seq: 4095 });
    const tx = decodeAll(id).find((r) => r.layout === 'tx')!;
    expect([tx.time, tx.shard, tx.seq]).toEqual([123_456_789, 1023, 4095]);
  });

  it('parses the full unsigned 64-bit range exactly', () => {
    expect(parseId('0')).toBe(0n);
    expect(parseId('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseId(' 9007199254740993 ')).toBe(9007199254740993n);
  });

  it('refuses junk and out-of-range IDs with a clear message', () => {
    expect(() => parseId('18446744073709551616')).toThrow(/out of range.*18446744073709551615/);
    for (const junk of ['', '-1', '1.5', '0x10', '12abc', '1e9']) {
      expect(() => parseId(junk)).toThrow(/not a decimal unsigned integer/);
    }
  });
});
