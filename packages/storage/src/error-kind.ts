/**
 * How a caller should treat a failure, carried by the error itself so no
 * layer has to recognise another package's codes or class names:
 * - `bad_request`: the caller's input was refused (e.g. an `after` too far ahead);
 * - `unavailable`: the thing cannot serve right now but is not broken (closing, time space exhausted);
 * - `storage`: durable storage failed (a poisoned counter or journal, an errno from the disk);
 * - `internal`: anything else: a bug.
 * Every error class of the storage, obelisk, journal and snowflake packages
 * sets `kind`; the server answers by it (SHARD_UNAVAILABLE for `storage`,
 * failing the shard).
 */
export type ErrorKind = 'bad_request' | 'unavailable' | 'storage' | 'internal';

const KINDS: ReadonlySet<unknown> = new Set<ErrorKind>(['bad_request', 'unavailable', 'storage', 'internal']);

/**
 * The kind of `err`: its own `kind`, else that of its `cause` (a few levels);
 * a bare errno error from the file system (`code` like EIO, ENOSPC) is
 * `storage`; anything else `internal`.
 */
export function errorKind(err: unknown): ErrorKind {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const kind = (e as { kind?: unknown }).kind;
    if (KINDS.has(kind)) return kind as ErrorKind;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return 'storage';
    e = (e as { cause?: unknown }).cause;
  }
  return 'internal';
}
