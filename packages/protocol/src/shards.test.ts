import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHARD_COUNT } from './limits.js';
import { expandShardRanges, formatShardRanges, keyHash, parseShardRanges, shardForKey, toShardRanges } from './shards.js';

describe('shard ranges', () => {
  it('parses ids and ranges into sorted, merged ranges', () => {
    expect(parseShardRanges('512,0-255,256-300')).toEqual([
      [0, 300],
      [512, 512],
    ]);
    expect(formatShardRanges(parseShardRanges('0-1023'))).toBe('0-1023');
    expect(expandShardRanges(parseShardRanges('3-5,9'))).toEqual([3, 4, 5, 9]);
    expect(toShardRanges([9, 3, 4, 5, 4])).toEqual([
      [3, 5],
      [9, 9],
    ]);
  });

  it.each(['', '1024', '-1', '5-3', '0-255,200', 'a', '1,,2', '0-99999'])('refuses %j with a RangeError', (text) => {
    expect(() => parseShardRanges(text)).toThrow(RangeError);
  });
});

describe('key hash', () => {
  it('is 32-bit FNV-1a over UTF-8 (golden vectors)', () => {
    // Published FNV-1a 32-bit test vectors.
    expect(keyHash('')).toBe(0x811c9dc5);
    expect(keyHash('a')).toBe(0xe40c292c);
    expect(keyHash('foobar')).toBe(0xbf9cf968);
  });

  it('maps keys to shards 0..1023 as hash % 1024', () => {
    expect(shardForKey('foobar')).toBe(0xbf9cf968 % SHARD_COUNT);
    for (let i = 0; i < 1000; i++) {
      const s = shardForKey(`producer-${i}`);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(SHARD_COUNT);
    }
  });

  it('hashes non-ASCII keys by their UTF-8 bytes', () => {
    expect(keyHash('é')).not.toBe(keyHash('e'));
    expect(keyHash('日本')).toBe(keyHash('日本'));
  });

  /** The definition, byte by byte over TextEncoder's UTF-8. */
  function reference(key: string): number {
    let h = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(key)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    return h;
  }

  it('hashes exactly the bytes TextEncoder writes: 1- to 4-byte characters and lone surrogates', () => {
    for (const key of ['é', '日本', '😀', 'a😀b', '\ud800', '\udc00x', 'x\ud83d', '\udbff\udfff', '\u07ff\u0800\uffff']) {
      expect(keyHash(key)).toBe(reference(key));
    }
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (key) => keyHash(key) === reference(key)), { numRuns: 2000 });
  });
});
