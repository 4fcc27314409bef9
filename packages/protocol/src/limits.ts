/** Protocol version spoken by this code. Requests may carry `v`; a hello always does. */
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Shard ids are 10 bits in every Pharaoh layout: 0..1023. */
export const SHARD_COUNT = 1024;
export const MAX_SHARD = SHARD_COUNT - 1;

/** Request ids are chosen by the client and echoed; uint32 keeps them a fixed-size msgpack int. */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** The longest op name, in bytes of UTF-8: every op is far shorter; longer ones are refused before any lookup. */
export const MAX_OP_BYTES = 64;

/** The longest producer name session-mgr accepts, in bytes of UTF-8 (not characters: "é" counts 2). */
export const MAX_PRODUCER_NAME_BYTES = 256;

/** The longest `name` field (group, member, subject, table, topic, partition), in bytes of UTF-8: Kafka's names fit (249). */
export const MAX_NAME_BYTES = 255;

/**
 * The longest `text` field (e.g. a schema), in bytes of UTF-8. A request must
 * also fit the server's `limits.maxFrameBytes` (64 KiB by default), so a text
 * this long needs the server started with a larger `--max-frame-bytes`.
 */
export const MAX_TEXT_BYTES = 65_536;

/** The longest `bytes` field (opaque client data such as group member metadata), in bytes. Frames bound it too, as for `text`. */
export const MAX_BINARY_BYTES = 65_536;

/** Largest `count` the wire allows (int32); a server announces its own, smaller `limits.maxCount` in hello. */
export const MAX_COUNT = 0x7fff_ffff;

/** Largest session epoch (int32): a producer past it moves to a new session. */
export const MAX_EPOCH = 0x7fff_ffff;

/** Transaction and session timeouts a client may ask for, in ms. */
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 3_600_000;

/**
 * WebSocket close codes (RFC 6455 §7.4.1) a Pharaoh server sends, all listed
 * in docs/PROTOCOL.md: 1000 idle timeout; 1001 shutdown; 1002 a WebSocket
 * protocol violation (bad framing, unmasked frame, bad close code, a control
 * frame over 125 bytes); 1003 a text frame; 1007 a binary frame that is not
 * one plain msgpack value of the protocol, or a text frame that is not UTF-8;
 * 1009 a frame larger than `limits.maxFrameBytes`; 1011 a server error on the
 * connection. 1008 is defined for completeness and never sent by this version.
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
