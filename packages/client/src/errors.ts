/**
 * Every error the client raises. Each class carries a stable `code`; wire error
 * codes (packages/protocol ERROR_CODES) map one-to-one onto a class here, so
 * callers can `instanceof` or switch on `code` and never parse messages.
 */
import { ERROR_CODES, type ErrorCode, type ErrorDetails, isErrorCode } from '@pharaoh/protocol';

/** Codes raised by the client itself (no server involved). */
export const CLIENT_ERROR_CODES = {
  /** The call did not finish within its timeout (no healthy route, or no answer). */
  TIMEOUT: 'TIMEOUT',
  /** `client.close()` was called while the call was pending, or afterwards. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /** The connection dropped while the request was in flight (retried internally); also a socket that closed before its hello, worded "cannot connect to …". */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** No endpoint of the fleet answered with a hello during `connect()`. */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** Two endpoints claim the same shard of the same service. */
  FLEET_CONFLICT: 'FLEET_CONFLICT',
  /** A fleet file or endpoint list that cannot be used. */
  FLEET_INVALID: 'FLEET_INVALID',
  /** A bad argument or option passed to the client. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The server sent something that is not a valid frame of the protocol. */
  PROTOCOL_VIOLATION: 'PROTOCOL_VIOLATION',
} as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES];
export type PharaohErrorCode = ClientErrorCode | ErrorCode;

/** Base class of every error this package raises. */
export class PharaohError extends Error {
  override name = 'PharaohError';
  constructor(
    readonly code: PharaohErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An error frame from a server. `details` holds the frame's extra fields; `endpoint` who sent it. */
export class ServerError extends PharaohError {
  override name = 'ServerError';
  constructor(
    override readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    readonly endpoint?: string,
  ) {
    super(code, message);
  }
}

export class BadRequestError extends ServerError {
  override name = 'BadRequestError';
}
export class UnknownOpError extends ServerError {
  override name = 'UnknownOpError';
}
export class NotOwnerError extends ServerError {
  override name = 'NotOwnerError';
}
export class ShardUnavailableError extends ServerError {
  override name = 'ShardUnavailableError';
}
export class OverloadedError extends ServerError {
  override name = 'OverloadedError';
}
export class UnsupportedVersionError extends ServerError {
  override name = 'UnsupportedVersionError';
}
export class ShuttingDownError extends ServerError {
  override name = 'ShuttingDownError';
}
export class ForbiddenError extends ServerError {
  override name = 'ForbiddenError';
}
export class InternalServerError extends ServerError {
  override name = 'InternalServerError';
}
export class TxNotFoundError extends ServerError {
  override name = 'TxNotFoundError';
}
export class TxAbortedError extends ServerError {
  override name = 'TxAbortedError';
}
export class TxCommittedError extends ServerError {
  override name = 'TxCommittedError';
}
/** The shard was restored from a backup; the decision may postdate it (docs/OPERATIONS.md, "Backup and restore"). */
export class TxInDoubtError extends ServerError {
  override name = 'TxInDoubtError';
}
/** tx.resolve of a transaction that is not IN_DOUBT. */
export class TxNotInDoubtError extends ServerError {
  override name = 'TxNotInDoubtError';
}
export class SessionFencedError extends ServerError {
  override name = 'SessionFencedError';
}
export class SessionExpiredError extends ServerError {
  override name = 'SessionExpiredError';
}
export class SessionUnknownError extends ServerError {
  override name = 'SessionUnknownError';
}
/** group-coord: the group is rebalancing; join again (with the memberId) to get into the next generation. */
export class GroupRebalanceInProgressError extends ServerError {
  override name = 'GroupRebalanceInProgressError';
}
/** group-coord: the generation is not the group's current one: this member is fenced until it joins again. */
export class GroupIllegalGenerationError extends ServerError {
  override name = 'GroupIllegalGenerationError';
}
/** group-coord: not a member of the group (left, timed out, never joined); join again. */
export class GroupUnknownMemberError extends ServerError {
  override name = 'GroupUnknownMemberError';
}
export class GroupInconsistentProtocolError extends ServerError {
  override name = 'GroupInconsistentProtocolError';
}
export class GroupFullError extends ServerError {
  override name = 'GroupFullError';
}
/** schema-registry: no such subject, or no schema with that id. */
export class SchemaNotFoundError extends ServerError {
  override name = 'SchemaNotFoundError';
}
/** schema-registry: a limit of the shard (subjects, versions per subject, stored bytes) was reached. */
export class SchemaLimitError extends ServerError {
  override name = 'SchemaLimitError';
}

/** sequencer `offsets.assign`: the request's seq is older than the last one its partition answered for its producer. */
export class OffsetsStaleSeqError extends ServerError {
  override name = 'OffsetsStaleSeqError';
}

type ServerErrorClass = new (code: ErrorCode, message: string, details?: ErrorDetails, endpoint?: string) => ServerError;

/** The one table from wire code to class. A code missing here would be a compile error. */
const SERVER_ERROR_CLASSES: Record<ErrorCode, ServerErrorClass> = {
  [ERROR_CODES.BAD_REQUEST]: BadRequestError,
  [ERROR_CODES.UNKNOWN_OP]: UnknownOpError,
  [ERROR_CODES.NOT_OWNER]: NotOwnerError,
  [ERROR_CODES.SHARD_UNAVAILABLE]: ShardUnavailableError,
  [ERROR_CODES.OVERLOADED]: OverloadedError,
  [ERROR_CODES.UNSUPPORTED_VERSION]: UnsupportedVersionError,
  [ERROR_CODES.SHUTTING_DOWN]: ShuttingDownError,
  [ERROR_CODES.FORBIDDEN]: ForbiddenError,
  [ERROR_CODES.INTERNAL]: InternalServerError,
  [ERROR_CODES.TX_NOT_FOUND]: TxNotFoundError,
  [ERROR_CODES.TX_ABORTED]: TxAbortedError,
  [ERROR_CODES.TX_COMMITTED]: TxCommittedError,
  [ERROR_CODES.TX_IN_DOUBT]: TxInDoubtError,
  [ERROR_CODES.TX_NOT_IN_DOUBT]: TxNotInDoubtError,
  [ERROR_CODES.SESSION_FENCED]: SessionFencedError,
  [ERROR_CODES.SESSION_EXPIRED]: SessionExpiredError,
  [ERROR_CODES.SESSION_UNKNOWN]: SessionUnknownError,
  [ERROR_CODES.GROUP_REBALANCE_IN_PROGRESS]: GroupRebalanceInProgressError,
  [ERROR_CODES.GROUP_ILLEGAL_GENERATION]: GroupIllegalGenerationError,
  [ERROR_CODES.GROUP_UNKNOWN_MEMBER]: GroupUnknownMemberError,
  [ERROR_CODES.GROUP_INCONSISTENT_PROTOCOL]: GroupInconsistentProtocolError,
  [ERROR_CODES.GROUP_FULL]: GroupFullError,
  [ERROR_CODES.SCHEMA_NOT_FOUND]: SchemaNotFoundError,
  [ERROR_CODES.SCHEMA_LIMIT]: SchemaLimitError,
  [ERROR_CODES.OFFSETS_STALE_SEQ]: OffsetsStaleSeqError,
};

/**
 * Codes after which the same request may be sent again (to the same shard after
 * a pause, or to another shard for a fresh ID): the server did not act on it,
 * or acting twice is harmless.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set<string>([
  ERROR_CODES.NOT_OWNER,
  ERROR_CODES.SHARD_UNAVAILABLE,
  ERROR_CODES.OVERLOADED,
  ERROR_CODES.SHUTTING_DOWN,
  CLIENT_ERROR_CODES.CONNECTION_LOST,
  CLIENT_ERROR_CODES.TIMEOUT,
]);

export function isRetryable(err: unknown): boolean {
  return err instanceof PharaohError && RETRYABLE_CODES.has(err.code);
}

/** Turn an error frame's `err` map into its typed error. Unknown codes become INTERNAL. */
export function fromWireError(err: unknown, endpoint?: string): ServerError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const message = typeof e.message === 'string' ? e.message : 'error frame without a message';
  const { code: rawCode, message: _m, ...details } = e;
  const code: ErrorCode = isErrorCode(rawCode) ? rawCode : ERROR_CODES.INTERNAL;
  const text = isErrorCode(rawCode) ? message : `unknown error code ${String(rawCode)}: ${message}`;
  return new SERVER_ERROR_CLASSES[code](code, text, details as ErrorDetails, endpoint);
}

export class TimeoutError extends PharaohError {
  override name = 'TimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CLIENT_ERROR_CODES.TIMEOUT, message, options);
  }
}

export class ClientClosedError extends PharaohError {
  override name = 'ClientClosedError';
  constructor(message = 'the client was closed') {
    super(CLIENT_ERROR_CODES.CLIENT_CLOSED, message);
  }
}

export class ConnectionLostError extends PharaohError {
  override name = 'ConnectionLostError';
  constructor(
    readonly endpoint: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(CLIENT_ERROR_CODES.CONNECTION_LOST, message, options);
  }
}

export class ConnectError extends PharaohError {
  override name = 'ConnectError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CLIENT_ERROR_CODES.CONNECT_FAILED, message, options);
  }
}

/** Two endpoints claim one shard of one service; names both endpoints and the shard. */
export class FleetConflictError extends PharaohError {
  override name = 'FleetConflictError';
  constructor(
    readonly service: string,
    readonly shard: number,
    readonly endpoints: [string, string],
  ) {
    super(
      CLIENT_ERROR_CODES.FLEET_CONFLICT,
      `fleet refused: ${endpoints[0]} and ${endpoints[1]} both claim shard ${shard} of service ${service}`,
    );
  }
}

export class FleetConfigError extends PharaohError {
  override name = 'FleetConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CLIENT_ERROR_CODES.FLEET_INVALID, message, options);
  }
}

export class InvalidArgumentError extends PharaohError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super(CLIENT_ERROR_CODES.INVALID_ARGUMENT, message);
  }
}

export class ProtocolViolationError extends PharaohError {
  override name = 'ProtocolViolationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CLIENT_ERROR_CODES.PROTOCOL_VIOLATION, message, options);
  }
}

/**
 * Where a call was made, captured when the call starts: errors raised later
 * (from a timer or a socket event) get these frames, so the caller's line shows
 * in the stack. Costs one stack capture, so only calls off the hot path use it.
 */
export class CallSite {
  private readonly holder: { stack?: string } = {};
  constructor(below?: Function) {
    Error.captureStackTrace(this.holder, below ?? CallSite);
  }
  /** Give `err` the call site's frames (keeping its own first line) and return it. */
  stamp<E extends Error>(err: E): E {
    const frames = this.holder.stack?.split('\n').slice(1).join('\n') ?? '';
    err.stack = `${err.name}: ${err.message}\n${frames}`;
    return err;
  }
}

/**
 * Re-create `err` in the current async frame: an error created after an
 * `await` carries V8's async stack ("at async caller"), which a rejection from
 * a timer or socket callback does not. Free until something fails.
 */
export function rethrowHere(err: unknown): never {
  if (err instanceof PharaohError) {
    const copy = Object.create(Object.getPrototypeOf(err) as object) as PharaohError;
    Object.assign(copy, err);
    Object.defineProperty(copy, 'message', { value: err.message, writable: true, configurable: true });
    if (err.cause !== undefined) Object.defineProperty(copy, 'cause', { value: err.cause, writable: true, configurable: true });
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, rethrowHere);
    copy.stack = `${err.name}: ${err.message}\n${holder.stack?.split('\n').slice(1).join('\n') ?? ''}`;
    throw copy;
  }
  throw err;
}

export { ERROR_CODES };
