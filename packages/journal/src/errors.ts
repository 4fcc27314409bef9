import type { ErrorKind } from '@pharaoh/storage';

/**
 * Every failure of the journal is a `JournalError` with a stable `code`, so
 * callers (txcoord, session-mgr) can map it to a wire error without parsing
 * messages. The underlying I/O error, if any, is kept in `cause`.
 */
export const JournalErrorCode = {
  /** A write, fdatasync or directory fsync failed; the journal refuses all further work. Reopen to recover. */
  POISONED: 'JOURNAL_POISONED',
  /** The journal was closed (or is closing). */
  CLOSED: 'JOURNAL_CLOSED',
  /** An encoded record is larger than `maxRecordBytes`. Nothing was written. */
  RECORD_TOO_LARGE: 'JOURNAL_RECORD_TOO_LARGE',
  /** A record could not be encoded as msgpack. Nothing was written. */
  BAD_RECORD: 'JOURNAL_BAD_RECORD',
  /** Invalid options passed to `Journal.open`. */
  BAD_OPTIONS: 'JOURNAL_BAD_OPTIONS',
  /** The journal file does not start with the journal header (not our file, or another version). */
  BAD_FORMAT: 'JOURNAL_BAD_FORMAT',
  /** Another process (or another Journal in this process) holds the journal directory. */
  LOCKED: 'JOURNAL_LOCKED',
  /** Compaction failed before publishing the new log; the old log stays in use and the journal keeps working. */
  COMPACTION_FAILED: 'JOURNAL_COMPACTION_FAILED',
  /** `onRecord` threw during replay; the journal was not opened. */
  REPLAY_FAILED: 'JOURNAL_REPLAY_FAILED',
  /**
   * `mustExist` was set (the shard has issued IDs before, so its journal was
   * created) but the journal directory or its log is missing, or the log is
   * shorter than its header. Nothing was created or written.
   */
  MISSING: 'JOURNAL_MISSING',
} as const;

export type JournalErrorCode = (typeof JournalErrorCode)[keyof typeof JournalErrorCode];

export class JournalError extends Error {
  override readonly name = 'JournalError';
  readonly code: JournalErrorCode;
  /** A closed journal is `unavailable`; every other failure means the shard's storage failed (`storage`). */
  readonly kind: ErrorKind;

  constructor(code: JournalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.kind = code === JournalErrorCode.CLOSED ? 'unavailable' : 'storage';
  }
}
