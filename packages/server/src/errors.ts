/**
 * Errors raised by the shard host itself (not wire errors: those are
 * `ProtocolError` from @pharaoh/protocol). Each carries a stable `code`.
 */
export const SERVER_ERROR_CODES = {
  /** Options are missing, of the wrong type or out of range. */
  BAD_OPTIONS: 'BAD_OPTIONS',
  /** Another process (or another open in this process) holds the shard's lock. */
  SHARD_LOCKED: 'SHARD_LOCKED',
  /** The shard directory belongs to another service/shard/layout, or holds foreign files. */
  SHARD_IDENTITY_MISMATCH: 'SHARD_IDENTITY_MISMATCH',
  /** A shard could not be opened for another reason (I/O, app state). */
  SHARD_OPEN_FAILED: 'SHARD_OPEN_FAILED',
  /** A listening socket could not be bound. */
  LISTEN_FAILED: 'LISTEN_FAILED',
  /** A journal record could not be understood during replay (not written by this version of the service). */
  BAD_RECORD: 'BAD_RECORD',
  /** A non-loopback host without any accepted token, and `insecure` not given. */
  INSECURE_LISTEN: 'INSECURE_LISTEN',
  /** A TLS certificate or key file could not be read or used. */
  TLS_FAILED: 'TLS_FAILED',
} as const;

export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[keyof typeof SERVER_ERROR_CODES];

export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    options?: { cause?: unknown; shard?: number; dir?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.shard = options?.shard;
    this.dir = options?.dir;
  }
  /** The shard concerned, when there is one. */
  readonly shard: number | undefined;
  /** The shard directory concerned, when there is one. */
  readonly dir: string | undefined;
}
