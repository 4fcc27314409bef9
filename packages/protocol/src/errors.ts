/**
 * Wire error codes, defined once. Every error frame carries one of these in
 * `err.code`; clients switch on the code, never on the message. Adding a code is
 * a compatible change; renaming or removing one is not.
 */
export const ERROR_CODES = {
  /** A field is missing, has the wrong type or is out of range. The connection stays usable. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** `op` is not an operation this service knows. */
  UNKNOWN_OP: 'UNKNOWN_OP',
  /** The shard is not hosted by this process; `err.shards` lists what it does host. */
  NOT_OWNER: 'NOT_OWNER',
  /** The shard is hosted here but cannot serve (failed storage, closing). Try another shard or later. */
  SHARD_UNAVAILABLE: 'SHARD_UNAVAILABLE',
  /** A limit was reached (in-flight requests, open transactions/sessions). Back off and retry. */
  OVERLOADED: 'OVERLOADED',
  /** The request's protocol version `v` is not supported; `err.supported` lists what is. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** The process is shutting down and takes no new requests. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** The connection's token does not allow this operation. */
  FORBIDDEN: 'FORBIDDEN',
  /** A bug on the server side; the request may or may not have taken effect. */
  INTERNAL: 'INTERNAL',
  /** txcoord: no such transaction on this shard (never begun, or forgotten after retention). */
  TX_NOT_FOUND: 'TX_NOT_FOUND',
  /** txcoord: the transaction was aborted (explicitly, by timeout, or presumed at restart). */
  TX_ABORTED: 'TX_ABORTED',
  /** txcoord: the transaction is already committed (e.g. abort after commit). */
  TX_COMMITTED: 'TX_COMMITTED',
  /**
   * txcoord: the shard was restored from a backup and this transaction's
   * decision may have been made after it: committed or aborted, nobody here
   * knows. Not retryable; resolve it from the participants' records (see
   * docs/OPERATIONS.md, "Backup and restore"). Becomes TX_NOT_FOUND once
   * forgotten after the retention period.
   */
  TX_IN_DOUBT: 'TX_IN_DOUBT',
  /**
   * txcoord `tx.resolve`: the transaction is not in doubt (it is ACTIVE, or it
   * was never issued) — decide it with tx.commit / tx.abort, or not at all.
   */
  TX_NOT_IN_DOUBT: 'TX_NOT_IN_DOUBT',
  /** session-mgr: a newer epoch of this session exists; this producer is a zombie. */
  SESSION_FENCED: 'SESSION_FENCED',
  /** session-mgr: the session missed its heartbeats and expired. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** session-mgr: no such session on this shard (never opened, closed, or forgotten). */
  SESSION_UNKNOWN: 'SESSION_UNKNOWN',
  /**
   * group-coord: the group is rebalancing. From `group.heartbeat`,
   * `group.sync` and `group.commitOffsets`: the member must call `group.join`
   * again (with its memberId) to get into the next generation.
   */
  GROUP_REBALANCE_IN_PROGRESS: 'GROUP_REBALANCE_IN_PROGRESS',
  /**
   * group-coord: the request names a generation that is not the group's
   * current one (a newer generation exists, or the shard was restored): this
   * member is a zombie of an old generation and is fenced from every op until
   * it joins again.
   */
  GROUP_ILLEGAL_GENERATION: 'GROUP_ILLEGAL_GENERATION',
  /** group-coord: the memberId is not a member of the group (never joined, left, timed out, or the group is unknown); join again. */
  GROUP_UNKNOWN_MEMBER: 'GROUP_UNKNOWN_MEMBER',
  /** group-coord: the joining member supports none of the protocols every current member supports. */
  GROUP_INCONSISTENT_PROTOCOL: 'GROUP_INCONSISTENT_PROTOCOL',
  /** group-coord: the group already has its maximum number of members (`--max-members-per-group`). */
  GROUP_FULL: 'GROUP_FULL',
  /** schema-registry: no such subject, or no schema with this id, on this shard. */
  SCHEMA_NOT_FOUND: 'SCHEMA_NOT_FOUND',
  /** schema-registry: a limit of the shard was reached (subjects per shard, versions per subject, stored bytes). Not retryable as is. */
  SCHEMA_LIMIT: 'SCHEMA_LIMIT',
  /**
   * sequencer `offsets.assign`: the request's `seq` is below the last `seq`
   * this partition answered for its `producerId` — a late retry of a request
   * a later one (of the same producer) has superseded, or a producer id that
   * was reused. Nothing is assigned. Not retryable: the range the old request
   * may have taken is never handed out again; send a new request (a new seq).
   */
  OFFSETS_STALE_SEQ: 'OFFSETS_STALE_SEQ',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

const CODE_SET: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && CODE_SET.has(x);
}

/** Extra fields an error frame may carry next to `code` and `message`. */
export interface ErrorDetails {
  /** NOT_OWNER: the shard ranges this process hosts. */
  shards?: Array<[number, number]>;
  /** UNSUPPORTED_VERSION: the versions this server speaks. */
  supported?: number[];
  /** BAD_REQUEST: the offending field's path, e.g. `count`. */
  field?: string;
  /** NOT_OWNER for an ID-addressed request: the shard encoded in the ID. */
  shard?: number;
  /** NOT_OWNER for a shard moved away from this process: the endpoint that hosts it now (`pharaoh shard move`). */
  movedTo?: string;
  /** SHARD_UNAVAILABLE from `admin.shards.claim`: why the shard could not be opened (SHARD_LOCKED, SHARD_IDENTITY_MISMATCH, SHARD_OPEN_FAILED). */
  reason?: string;
  /** SHARD_UNAVAILABLE from `admin.shards.claim`: the shards it claimed before the one that failed. */
  claimed?: Array<[number, number]>;
}

/**
 * An error that maps one-to-one onto an error frame. Server handlers throw it;
 * the client turns error frames back into it (or a subclass).
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Raised when bytes are not a well-formed frame: the connection must be closed. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    message: string,
    /** The WebSocket close code to close the connection with. */
    readonly closeCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
