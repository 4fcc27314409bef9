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

/**
 * How the host answers an error a handler threw (other than a ProtocolError):
 * - 'bad_request': the caller's input was refused by the generator (an `after`
 *   too far ahead, an ID out of range);
 * - 'unavailable': the shard cannot serve right now but is not broken (closing,
 *   its time space exhausted);
 * - 'storage': the shard's storage failed (counter poisoned, journal failed,
 *   an errno from the disk): the shard is marked failed;
 * - 'internal': anything else, a bug.
 */
export type ErrorClass = 'bad_request' | 'unavailable' | 'storage' | 'internal';

const BAD_REQUEST_CODES = new Set(['AFTER_TOO_FAR_AHEAD', 'OUT_OF_RANGE']);
const UNAVAILABLE_CODES = new Set(['CLOSED', 'TIME_EXHAUSTED', 'JOURNAL_CLOSED']);
/** Error classes whose every other error means this shard's storage failed. */
const STORAGE_ERROR_NAMES = new Set(['ObeliskError', 'JournalError']);

/** Classify `err`, walking `cause` a few levels (a journal error may wrap an errno). */
export function classifyError(err: unknown): ErrorClass {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (BAD_REQUEST_CODES.has(code)) return 'bad_request';
      if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
      if (STORAGE_ERROR_NAMES.has(e.name)) return 'storage';
      // errno-style codes from the file system: EIO, ENOSPC, EFBIG, ...
      if (/^E[A-Z0-9]+$/.test(code)) return 'storage';
    }
    e = (e as { cause?: unknown }).cause;
  }
  return 'internal';
}
