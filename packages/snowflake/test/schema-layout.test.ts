import { describe, expect, it } from 'vitest';
import { SCHEMA_LAYOUT } from '../src/index.js';

describe('SCHEMA_LAYOUT', () => {
  it('has the documented shape: 42 bits of ms | 10 shard | 12 seq from 2025-01-01', () => {
    expect(SCHEMA_LAYOUT.toJSON()).toEqual({ name: 'schema', timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 });
    expect(SCHEMA_LAYOUT.exhaustsAt.toISOString()).toBe('2164-05-15T07:35:11.104Z');
  });

  it('encodes time * 2^22 + shard * 2^12 + seq and carries the shard back out', () => {
    // 2026-01-01 is 31536000000 ms after the epoch: 31536000000 * 4194304 + 5 * 4096 + 7.
    const id = SCHEMA_LAYOUT.encode({ time: 31536000000, shard: 5, seq: 7 });
    expect(id).toBe(132271570944020487n);
    expect(SCHEMA_LAYOUT.shardOf(id)).toBe(5);
    expect(SCHEMA_LAYOUT.decode(id).date.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
