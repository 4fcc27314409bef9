import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, encodeOkFrame } from './codec.js';
import { okFrame } from './frames.js';
import { FrameError } from './errors.js';
import { CLOSE_CODES } from './limits.js';
import { MAX_DEPTH, WireFloat } from './msgpack/decode.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** `{ "x": <value bytes> }` */
const inMap = (valueHex: string): Buffer => hex(`81 a1 78 ${valueHex}`);

function frameError(bytes: Uint8Array): FrameError {
  try {
    decodeFrame(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    expect((e as FrameError).closeCode).toBe(CLOSE_CODES.INVALID_PAYLOAD);
    return e as FrameError;
  }
  throw new Error(`expected ${toHex(bytes)} to be refused`);
}

describe('frame codec: what goes out', () => {
  it('writes plain msgpack in the smallest encoding: fixmap, fixstr, fixint', () => {
    expect(toHex(encodeFrame({ a: 1 }))).toBe('81a16101');
    expect(toHex(encodeFrame({ id: 1, op: 'ping' }))).toBe('82a2696401a26f70a470696e67');
  });

  it('writes every bigint ID as uint64 (0xcf), whatever its size', () => {
    expect(toHex(encodeFrame(5n))).toBe('cf0000000000000005');
    expect(toHex(encodeFrame(2n ** 64n - 1n))).toBe('cfffffffffffffffff');
  });

  it('writes large integers such as epochMs and ping.now as integers, never as floats', () => {
    expect(toHex(encodeFrame(1735689600000))).toBe('cf000001941f297c00');
    expect(toHex(encodeFrame(-5))).toBe('fb');
    expect(toHex(encodeFrame(-200))).toBe('d1ff38');
  });

  it('writes a successful response with encodeOkFrame exactly as encodeFrame(okFrame(...))', () => {
    const same = (id: number, ok: unknown): void => expect(toHex(encodeOkFrame(id, ok))).toBe(toHex(encodeFrame(okFrame(id, ok as never))));
    same(0, {});
    same(1, { first: 503178002017722368n, count: 100 });
    same(0xffff_ffff, { status: 'OK' });
    same(300, { now: 1735689600000, nested: [1, 'é', { x: null }] });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.string(), fc.boolean())), (id, ok) => {
        same(id, ok);
      }),
    );
  });

  it('leaves keys with undefined values out instead of writing an extension', () => {
    expect(toHex(encodeFrame({ a: undefined, b: true }))).toBe('81a162c3');
  });

  it('hands out frames that later frames never overwrite, across slabs and for frames larger than a slab', () => {
    const frames = Array.from({ length: 5000 }, (_, i) => ({ value: { i, pad: 'x'.repeat(i % 97) }, bytes: encodeFrame({ i, pad: 'x'.repeat(i % 97) }) }));
    const big = { a: 'y'.repeat(100_000), b: [1, 2, 3] };
    const bigBytes = encodeFrame(big);
    for (const f of frames) expect(decodeFrame(f.bytes)).toEqual(f.value);
    expect(decodeFrame(bigBytes)).toEqual(big);
  });

  it('widens a map header past 15 keys, also when the frame moves to a new slab while being written', () => {
    for (const fill of [0, 60_000, 65_000]) {
      if (fill > 0) encodeFrame({ filler: 'z'.repeat(fill) }); // leave the slab nearly full
      const wide: Record<string, unknown> = {};
      for (let k = 0; k < 20; k++) wide[`k${k}`] = k === 10 ? 'w'.repeat(20_000) : { inner: k };
      const bytes = encodeFrame({ wide });
      expect(decodeFrame(bytes)).toEqual({ wide });
      expect(bytes[6]).toBe(0xde); // fixmap 1, fixstr "wide", then map16
    }
  });

  it('leaves no trace of a value it refused to encode', () => {
    expect(() => encodeFrame({ a: 1, b: new Map() })).toThrow(TypeError);
    expect(toHex(encodeFrame({ a: 1 }))).toBe('81a16101');
  });

  it.each([
    ['a Map', new Map()],
    ['a Set', new Set()],
    ['a Date', new Date(0)],
    ['a RegExp', /x/],
    ['an Error', new Error('x')],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
  ])('refuses to encode %s (it has no plain msgpack form)', (_name, value) => {
    expect(() => encodeFrame({ x: value })).toThrow(TypeError);
  });
});

describe('frame codec: what comes in', () => {
  it('decodes every integer encoding of 9 to the same number', () => {
    for (const h of ['09', 'cc09', 'cd0009', 'ce00000009', 'cf0000000000000009', 'd009', 'd10009', 'd200000009', 'd30000000000000009']) {
      expect(decodeFrame(hex(h)), h).toBe(9);
    }
  });

  it('decodes integers by value: safe ones as number, larger ones as exact bigint', () => {
    expect(decodeFrame(hex('cf001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeFrame(hex('cf0020000000000000'))).toBe(2n ** 53n);
    expect(decodeFrame(hex('cfffffffffffffffff'))).toBe(2n ** 64n - 1n);
    expect(decodeFrame(hex('d3ffe0000000000001'))).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decodeFrame(hex('d38000000000000000'))).toBe(-(2n ** 63n));
    for (const id of [2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n]) expect(decodeFrame(encodeFrame(id))).toBe(id);
  });

  it('decodes floats as WireFloat, so 5.0 never passes for the integer 5', () => {
    const f = decodeFrame(hex('cb4014000000000000'));
    expect(f).toBeInstanceOf(WireFloat);
    expect((f as WireFloat).value).toBe(5);
    expect((decodeFrame(hex('ca7fc00000')) as WireFloat).value).toBeNaN();
  });

  it('decodes strings, binary, arrays, nil and booleans', () => {
    expect(decodeFrame(encodeFrame({ s: 'héllo', b: Uint8Array.of(1, 2), a: [null, true, false] }))).toEqual({
      s: 'héllo',
      b: Uint8Array.of(1, 2),
      a: [null, true, false],
    });
  });

  it('keeps a __proto__ key as an ordinary own key', () => {
    const m = decodeFrame(hex('82a95f5f70726f746f5f5f81a57368617264 01 a2 6964 02')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(Object.keys(m)).toEqual(['__proto__', 'id']);
    expect((m as { shard?: unknown }).shard).toBeUndefined();
  });

  it.each([
    ['fixext 1 (msgpackr undefined)', 'd40000'],
    ['fixext 4 timestamp (-1)', 'd6ff00000001'],
    ['fixext 8 timestamp', 'd7ff0000000000000001'],
    ['ext 8 timestamp 96', 'c70cff000000000000000000000001'],
    ['fixext 2', 'd5010102'],
    ['fixext 16', 'd801' + '00'.repeat(16)],
    ['ext 16', 'c800010501'],
    ['ext 32', 'c9000000010501'],
    ['msgpackr record definition (0x72)', 'd47201'],
    ['msgpackr bigint ext (0x42)', 'c7084200000000000000ff'],
    ['msgpackr Error ext (0x65)', 'd46500'],
    ['msgpackr RegExp ext (0x78)', 'd47800'],
    ['msgpackr Set ext (0x73)', 'd47390'],
    ['msgpackr typed array ext (0x74)', 'c70374010203'],
    ['msgpackr structured-clone reference (0x70)', 'd47000'],
  ])('refuses a %s with close code 1007', (_name, h) => {
    expect(frameError(inMap(h)).message).toMatch(/extension/);
    frameError(hex(h));
  });

  it('refuses the never-used byte 0xc1 anywhere: alone, as a map value, in an array, as a key', () => {
    for (const bytes of [hex('c1'), inMap('c1'), hex('9201c1'), hex('81c101'), hex('82a2696401a26f70c1')]) {
      frameError(bytes);
    }
  });

  it('refuses a string that is not UTF-8', () => {
    frameError(inMap('a2c328'));
    frameError(inMap('d920' + 'ff'.repeat(32)));
  });

  it('refuses a map key that is not a string, and a key that repeats', () => {
    expect(frameError(hex('810101')).message).toMatch(/not a string/);
    expect(frameError(hex('82a2696401a2696402')).message).toMatch(/repeats/);
  });

  it(`accepts ${MAX_DEPTH} nested containers and refuses one more`, () => {
    const nest = (n: number): Buffer => Buffer.concat([Buffer.alloc(n, 0x91), Buffer.from([0x01])]);
    expect(() => decodeFrame(nest(MAX_DEPTH))).not.toThrow();
    expect(frameError(nest(MAX_DEPTH + 1)).message).toMatch(/deeper than/);
    frameError(Buffer.alloc(500_000, 0x91));
  });

  it('refuses lengths longer than the frame without allocating them', () => {
    for (const h of ['dd7fffffff', 'dfffffffff', 'dbffffffff61', 'c6ffffffff', 'dc0003']) frameError(hex(h));
  });

  it('refuses truncated data, trailing bytes and an empty frame', () => {
    const bytes = encodeFrame({ id: 1, op: 'ping' });
    frameError(bytes.subarray(0, bytes.length - 1));
    frameError(Buffer.concat([encodeFrame(1), encodeFrame(2)]));
    frameError(new Uint8Array(0));
  });

  it('never throws anything but FrameError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 5000, seed: 42 },
    );
  });

  it('decodes what it encodes (property)', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
        fc.maxSafeInteger(),
        fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array(b)),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(fc.property(value, (v) => {
      expect(decodeFrame(encodeFrame(v))).toEqual(v);
    }), { numRuns: 2000, seed: 7 });
  });
});
