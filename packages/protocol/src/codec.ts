import { Packr } from 'msgpackr';
import { CLOSE_CODES } from './limits.js';
import { FrameError } from './errors.js';

/**
 * The one msgpack configuration shared by server and client.
 * - `useRecords: false`: plain msgpack maps, so clients in other languages can
 *   read every frame (msgpackr's record extension is msgpackr-only).
 * - `int64AsType: 'bigint'`: 64-bit integers decode to `bigint`, so IDs never
 *   pass through a lossy JS number. Smaller integers decode to `number`.
 * - `mapsAsObjects: true`: maps decode to plain objects (string keys only on the wire).
 * - `moreTypes: false`: no msgpackr-specific extensions on the wire.
 */
const packr = new Packr({
  useRecords: false,
  int64AsType: 'bigint',
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
});

/** Encode one frame (a plain object) into one binary WebSocket message. */
export function encodeFrame(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Decode one binary WebSocket message into a value. Throws `FrameError`
 * (close code 1007) for anything that is not exactly one well-formed msgpack
 * value: truncated data, trailing bytes, or nesting deep enough to exhaust the
 * stack.
 */
export function decodeFrame(bytes: Uint8Array): unknown {
  let values: unknown[];
  try {
    values = packr.unpackMultiple(bytes) as unknown[];
  } catch (cause) {
    throw new FrameError(`undecodable msgpack frame: ${describe(cause)}`, CLOSE_CODES.INVALID_PAYLOAD, { cause });
  }
  if (values.length !== 1) {
    throw new FrameError(`a frame must hold exactly one msgpack value, got ${values.length}`, CLOSE_CODES.INVALID_PAYLOAD);
  }
  const value = values[0];
  // 0xc1 is "never used" in msgpack; msgpackr decodes it to a marker object
  // instead of failing. It is not a well-formed value: treat it as undecodable.
  if (value !== null && typeof value === 'object' && value.constructor?.name === 'C1Type') {
    throw new FrameError('undecodable msgpack frame: reserved byte 0xc1', CLOSE_CODES.INVALID_PAYLOAD);
  }
  return value;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 200) : String(e).slice(0, 200);
}
