import { CLOSE_CODES } from './limits.js';
import { FrameError } from './errors.js';
import { decodeMsgpack, DecodeError } from './msgpack/decode.js';
import { encodeMsgpack, encodeOkResponse, encodeRangeResponse } from './msgpack/encode.js';
import { readTsGetRequest, type TsGetRequest } from './msgpack/ts-get.js';

/**
 * Encode one frame (a plain object) into one binary WebSocket message: plain
 * msgpack, smallest encodings, `bigint` IDs as uint64, keys with `undefined`
 * values left out. Throws TypeError for a value plain msgpack cannot hold
 * (Map, Date, class instances, ...): nothing is ever sent as an extension.
 */
export function encodeFrame(value: unknown): Buffer {
  return encodeMsgpack(value);
}

/**
 * Encode a successful response, `{ t: 'res', id, ok }`: the same bytes as
 * `encodeFrame(okFrame(id, ok))`, without building the frame object (the
 * server's answer to every successful request).
 */
export function encodeOkFrame(id: number, ok: unknown): Buffer {
  return encodeOkResponse(id, ok);
}

/**
 * Encode a `ts.get` answer, `{ t: 'res', id, ok: { first, count } }`: the same
 * bytes as `encodeOkFrame(id, { first, count })`, for the most frequent frame.
 */
export function encodeRangeFrame(id: number, first: bigint, count: number): Buffer {
  return encodeRangeResponse(id, first, count);
}

/**
 * Read a `ts.get` request of the common shape straight from its bytes (see
 * msgpack/ts-get.ts), or undefined: then decode it with `decodeFrame` and check
 * it with `parseEnvelope` and `parseArgs`, which give the same values for every
 * request this reads.
 */
export function readTsGetFrame(bytes: Uint8Array): TsGetRequest | undefined {
  return readTsGetRequest(bytes);
}

export type { TsGetRequest };

/**
 * Decode one binary WebSocket message into a value. Integers of any encoding
 * decode to a `number` when they are safe integers and to a `bigint` otherwise;
 * floats to a `WireFloat`. Throws `FrameError` (close code 1007) for anything
 * that is not exactly one plain msgpack value within the protocol's limits:
 * truncated data, trailing bytes, ext types, the byte 0xc1, invalid UTF-8,
 * non-string or repeated map keys, nesting deeper than MAX_DEPTH.
 */
export function decodeFrame(bytes: Uint8Array): unknown {
  try {
    return decodeMsgpack(bytes);
  } catch (cause) {
    const message = cause instanceof DecodeError ? cause.message : 'malformed msgpack';
    throw new FrameError(`undecodable frame: ${message}`, CLOSE_CODES.INVALID_PAYLOAD, { cause });
  }
}
