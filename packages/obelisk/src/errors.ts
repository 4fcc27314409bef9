import { errnoCode, type ErrorKind } from '@pharaoh/storage';

/**
 * Every failure of an Obelisk counter is an `ObeliskError` with a stable `code`.
 * Callers branch on `code`, never on the message.
 */

export type ObeliskErrorCode =
  /** Another open counter (this process or another) owns the file. */
  | 'LOCKED'
  /** A previous `ftruncate`/`fdatasync` failed; the counter refuses all further work. */
  | 'POISONED'
  /** The counter was closed. */
  | 'CLOSED'
  /** The next value would pass `Number.MAX_SAFE_INTEGER` (2^53 - 1). */
  | 'EXHAUSTED'
  /** A bad argument: not a positive safe integer, a lowering `advanceTo`, a bad option, a directory path. */
  | 'INVALID_ARGUMENT'
  /** The file system refused an operation (open, list, create, ...). */
  | 'IO';

export class ObeliskError extends Error {
  override readonly name = 'ObeliskError';
  readonly code: ObeliskErrorCode;
  /** The path of the counter the error is about, when known. */
  readonly path: string | undefined;
  /** A closed counter is `unavailable`; every other failure means its storage cannot be trusted (`storage`). */
  readonly kind: ErrorKind;

  constructor(code: ObeliskErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.kind = code === 'CLOSED' ? 'unavailable' : 'storage';
  }
}

/** Wrap a file-system error from opening/listing into an `IO` error that names the path and errno. */
export function ioError(what: string, path: string, err: unknown): ObeliskError {
  const code = errnoCode(err) ?? 'unknown error';
  const hint = ERRNO_HINTS[code] ?? (err instanceof Error ? err.message : String(err));
  return new ObeliskError('IO', `${what} ${path}: ${code} (${hint})`, { cause: err, path });
}

// Plain-language hints for the errors a misconfigured path produces most often.
const ERRNO_HINTS: Record<string, string> = {
  ENOENT: 'the directory does not exist',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied: the location is not readable and writable by this process',
  EPERM: 'operation not permitted: the file is immutable or the location refuses writes',
  EROFS: 'the location is on a read-only file system',
  EISDIR: 'the path is a directory, not a counter file',
  ENOSPC: 'no space left on the device',
  EIO: 'input/output error',
  EFBIG: 'file too large for this file system',
};
