import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, encodeOkFrame, encodeRangeFrame, readTsGetFrame } from './codec.js';
import { okFrame } from './frames.js';
import { TSO } from '@pharaoh/registry';
import { parseArgs, parseEnvelope } from './ops.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An integer in one msgpack encoding of our choice (possibly one the short cut refuses). */
function int(v: number | bigint, enc: 'fix' | 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i32' | 'i64' | 'f64'): Buffer {
  const n = BigInt(v);
  const b = Buffer.alloc(9);
  switch (enc) {
    case 'fix':
      return Buffer.from([Number(n) & 0xff]);
    case 'u8':
      return Buffer.from([0xcc, Number(n) & 0xff]);
    case 'u16':
      b[0] = 0xcd;
      b.writeUInt16BE(Number(n) & 0xffff, 1);
      return b.subarray(0, 3);
    case 'u32':
      b[0] = 0xce;
      b.writeUInt32BE(Number(BigInt.asUintN(32, n)), 1);
      return b.subarray(0, 5);
    case 'u64':
      b[0] = 0xcf;
      b.writeBigUInt64BE(BigInt.asUintN(64, n), 1);
      return b;
    case 'i8':
      return Buffer.from([0xd0, Number(BigInt.asIntN(8, n)) & 0xff]);
    case 'i32':
      b[0] = 0xd2;
      b.writeInt32BE(Number(BigInt.asIntN(32, n)), 1);
      return b.subarray(0, 5);
    case 'i64':
      b[0] = 0xd3;
      b.writeBigInt64BE(BigInt.asIntN(64, n), 1);
      return b;
    case 'f64':
      b[0] = 0xcb;
      b.writeDoubleBE(Number(n), 1);
      return b;
  }
}

const str = (s: string): Buffer => Buffer.concat([Buffer.from([0xa0 | Buffer.byteLength(s)]), Buffer.from(s)]);

/** A map of raw entries (key, value bytes), in the given order, with a fixmap header of `count` entries. */
function map(entries: Array<[string, Buffer]>, count = entries.length): Buffer {
  return Buffer.concat([Buffer.from([0x80 | count]), ...entries.flatMap(([k, v]) => [str(k), v])]);
}

/** What the general path makes of `bytes`, or undefined when it refuses them or they are not a plain ts.get. */
function general(bytes: Uint8Array): { id: number; shard: number; count: number; after: bigint | undefined } | undefined {
  try {
    const env = parseEnvelope(decodeFrame(bytes));
    if (env.op !== 'ts.get') return undefined;
    const a = parseArgs('ts.get', TSO.ops['ts.get'], env.frame);
    return { id: env.id, shard: a.shard, count: a.count, after: a.after };
  } catch {
    return undefined;
  }
}

const ENCODINGS = ['fix', 'u8', 'u16', 'u32', 'u64', 'i8', 'i32', 'i64', 'f64'] as const;

describe('ts.get short cuts', () => {
  it('read what the client and the conformance vectors send: every key order, every unsigned encoding', () => {
    expect(readTsGetFrame(Buffer.from('84a2696401a26f70a674732e676574a5736861726407a5636f756e7464', 'hex'))).toEqual({ id: 1, shard: 7, count: 100, after: undefined });
    const after = 503178002017722368n;
    expect(readTsGetFrame(encodeFrame({ op: 'ts.get', shard: 1023, count: 4096, after, id: 0xffff_ffff }))).toEqual({ id: 0xffff_ffff, shard: 1023, count: 4096, after });
    expect(readTsGetFrame(map([['count', int(1, 'u32')], ['after', int(5, 'u8')], ['shard', int(0, 'u16')], ['op', str('ts.get')], ['id', int(0, 'fix')]]))).toEqual({
      id: 0,
      shard: 0,
      count: 1,
      after: 5n,
    });
  });

  it('leave everything else to the general path: v, nil, other keys, signed or float encodings, bad ranges, trailing bytes', () => {
    const ok: Array<[string, Buffer]> = [['id', int(1, 'fix')], ['op', str('ts.get')], ['shard', int(7, 'fix')], ['count', int(1, 'fix')]];
    const cases = [
      map([...ok, ['v', int(1, 'fix')]]),
      map([...ok, ['after', Buffer.from([0xc0])]]),
      map([...ok, ['extra', int(1, 'fix')]]),
      map([ok[0]!, ok[1]!, ok[2]!, ['count', int(1, 'i8')]]),
      map([ok[0]!, ok[1]!, ['shard', int(1024, 'u16')], ok[3]!]),
      map([ok[0]!, ok[1]!, ok[2]!, ['count', int(0, 'fix')]]),
      map([ok[0]!, ['op', str('ts.gex')], ok[2]!, ok[3]!]),
      map([ok[0]!, ok[0]!, ok[2]!, ok[3]!]),
      map(ok.slice(0, 3)),
      map(ok, 5),
      Buffer.concat([map(ok), Buffer.from([0xc0])]),
      map(ok).subarray(0, 20),
      Buffer.alloc(0),
    ];
    for (const bytes of cases) expect(readTsGetFrame(bytes)).toBeUndefined();
  });

  it('never read a value the general path would not: random frames of ts.get keys in random encodings', () => {
    const key = fc.constantFrom('id', 'op', 'shard', 'count', 'after', 'v', 'x');
    const value = fc.oneof(
      fc.record({ v: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), enc: fc.constantFrom(...ENCODINGS) }).map(({ v, enc }) => int(v, enc)),
      fc.record({ v: fc.integer({ min: 0, max: 2000 }), enc: fc.constantFrom(...ENCODINGS) }).map(({ v, enc }) => int(v, enc)),
      fc.constantFrom(str('ts.get'), str('ping'), Buffer.from([0xc0]), Buffer.from([0xc3])),
    );
    const unsigned = fc
      .record({ v: fc.integer({ min: 0, max: 1100 }), enc: fc.constantFrom('u8', 'u16', 'u32', 'u64', 'fix') })
      .map(({ v, enc }) => int(v, enc === 'fix' && v > 127 ? 'u16' : enc === 'u8' && v > 255 ? 'u16' : enc));
    // Mostly the ts.get keys, each once, in any order, so that many frames are read by the short cut.
    const entries = fc.oneof(
      fc.array(fc.tuple(key, value), { minLength: 3, maxLength: 6 }),
      fc
        .tuple(fc.shuffledSubarray(['id', 'op', 'shard', 'count', 'after'], { minLength: 4, maxLength: 5 }), fc.array(fc.oneof({ arbitrary: unsigned, weight: 6 }, { arbitrary: value, weight: 1 }), { minLength: 5, maxLength: 5 }))
        .map(([keys, values]) => keys.map((k, i): [string, Buffer] => [k, k === 'op' && i % 2 === 0 ? str('ts.get') : values[i]!])),
    );
    let read = 0;
    fc.assert(
      fc.property(entries, (e) => {
        const bytes = map(e);
        const fast = readTsGetFrame(bytes);
        if (fast !== undefined) {
          read++;
          expect(fast).toEqual(general(bytes));
        }
      }),
      { numRuns: 20_000 },
    );
    expect(read).toBeGreaterThan(100);
  });

  it('read every valid request the general path reads, when written with unsigned encodings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 1023 }),
        fc.integer({ min: 1, max: 0x7fff_ffff }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }),
        (id, shard, count, after) => {
          const bytes = encodeFrame(after === undefined ? { id, op: 'ts.get', shard, count } : { shard, after, count, id, op: 'ts.get' });
          expect(readTsGetFrame(bytes)).toEqual(general(bytes));
          expect(readTsGetFrame(bytes)).toBeDefined();
        },
      ),
    );
  });

  it('write a ts.get answer exactly as encodeOkFrame writes { first, count }', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 0x7fff_ffff }), (id, first, count) => {
        expect(toHex(encodeRangeFrame(id, first, count))).toBe(toHex(encodeOkFrame(id, { first, count })));
        expect(toHex(encodeRangeFrame(id, first, count))).toBe(toHex(encodeFrame(okFrame(id, { first, count }))));
      }),
    );
  });
});
