/** Protocol version spoken by this code. Requests may carry `v`; a hello always does. */
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Shard ids are 10 bits in every Pharaoh layout: 0..1023. */
export const SHARD_COUNT = 1024;
export const MAX_SHARD = SHARD_COUNT - 1;

/** Request ids are chosen by the client and echoed; uint32 keeps them a fixed-size msgpack int. */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** The longest producer name session-mgr accepts (bytes of UTF-8 are checked by the server). */
export const MAX_PRODUCER_NAME_LENGTH = 256;

/** Transaction and session timeouts a client may ask for, in ms. */
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 3_600_000;

/**
 * WebSocket close codes the server uses (RFC 6455 §7.4.1).
 * 1003: a text frame (only binary frames are spoken); 1007: bytes that are not
 * one well-formed msgpack value; 1008: a policy violation (too many requests in
 * flight after being told, auth); 1009: a frame larger than the limit in `hello`;
 * 1001: the server is going away (shutdown).
 */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;
