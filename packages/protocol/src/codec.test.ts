import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from './codec.js';
import { FrameError } from './errors.js';
import { CLOSE_CODES } from './limits.js';

describe('frame codec', () => {
  it('round-trips 64-bit IDs as bigint without precision loss', () => {
    const ids = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
    for (const first of ids) {
      const back = decodeFrame(encodeFrame({ t: 'res', id: 7, ok: { first, count: 3 } })) as {
        ok: { first: bigint; count: number };
      };
      expect(back.ok.first).toBe(first);
      expect(typeof back.ok.first).toBe('bigint');
      expect(back.ok.count).toBe(3);
    }
  });

  it('writes plain msgpack maps that other languages can read (no msgpackr records)', () => {
    // {"a":1} as a standard map16 (0xde, 2-byte length 1), fixstr "a", positive fixint 1.
    // msgpackr writes map16 because it sizes maps after writing them; any msgpack reader accepts it.
    expect([...encodeFrame({ a: 1 })]).toEqual([0xde, 0x00, 0x01, 0xa1, 0x61, 0x01]);
  });

  it('encodes IDs below 2^63 as int64 and larger ones as uint64', () => {
    expect(encodeFrame(5n)[0]).toBe(0xd3);
    expect(encodeFrame(2n ** 63n)[0]).toBe(0xcf);
  });

  it('refuses truncated data with close code 1007', () => {
    const bytes = encodeFrame({ id: 1, op: 'ping' });
    const err = catchError(() => decodeFrame(bytes.subarray(0, bytes.length - 1)));
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).closeCode).toBe(CLOSE_CODES.INVALID_PAYLOAD);
  });

  it('refuses the reserved byte 0xc1 as undecodable', () => {
    expect(catchError(() => decodeFrame(Uint8Array.of(0xc1)))).toBeInstanceOf(FrameError);
  });

  it('refuses two values in one frame', () => {
    const bytes = Buffer.concat([encodeFrame(1), encodeFrame(2)]);
    expect(catchError(() => decodeFrame(bytes))).toBeInstanceOf(FrameError);
  });

  it('refuses nesting deep enough to exhaust the stack instead of crashing', () => {
    const deep = Buffer.alloc(500_000, 0x91); // [[[[...
    expect(catchError(() => decodeFrame(deep))).toBeInstanceOf(FrameError);
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
      { numRuns: 2000, seed: 42 },
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}
