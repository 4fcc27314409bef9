import { nodeFileSystem, type FileSystem } from '@pharaoh/storage';
import { JournalError, JournalErrorCode } from './errors.js';

/**
 * Compact when the file reaches 64 MiB: large enough that compaction (which
 * rewrites the whole live state) is rare, small enough that replay on start
 * reads at most a few hundred MB/s-milliseconds of log.
 */
export const DEFAULT_COMPACT_AT_BYTES = 64 * 1024 * 1024;

/**
 * Coordinator records are small (a decision, an epoch); 1 MiB leaves a wide
 * margin and bounds what a corrupt length prefix can make recovery allocate.
 */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/** Hard ceiling for `maxRecordBytes`: the length prefix is a uint32, and replay buffers one record. */
export const MAX_RECORD_BYTES_LIMIT = 256 * 1024 * 1024;

/** pino-compatible subset: `logger.info({ bytes }, 'msg')`. */
export interface JournalLogger {
  /** Per-open details (a restart of 1024 shards must not print 1024 lines). */
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface JournalOptions<R> {
  /**
   * File layer; default `nodeFileSystem` (real files). Tests pass the crash
   * simulator (`SimulatedFs` from `@pharaoh/storage/testing`). The journal
   * takes its process view once at open and uses only that.
   */
  fs?: FileSystem;
  /**
   * The journal must already exist: refuse (`JOURNAL_MISSING`, nothing
   * created or written) a missing directory, a missing log or a log shorter
   * than its header instead of starting an empty journal. Set it when the
   * owner has served before (a shard whose generator has issued IDs), so a
   * lost journal is never mistaken for a new one. Default false.
   */
  mustExist?: boolean;
  /**
   * Rewrite the log from `snapshot()` (a compaction) before `open` resolves.
   * For a reopen after an I/O error: the kernel may have dropped a failed
   * write-back while its page cache still shows the bytes, so an fdatasync of
   * the replayed log can succeed without anything reaching the disk; written
   * anew, every replayed record really is durable. Default false.
   */
  rewrite?: boolean;
  /** Called for every recovered record, in append order, during `open` (replay). */
  onRecord: (rec: R) => void;
  /**
   * The live state as records, used by compaction. Called synchronously at a
   * moment when every earlier `append` has resolved and the code awaiting it
   * has run; appends made after compaction began are held and written after
   * the snapshot. Replaying the snapshot must rebuild the same state.
   */
  snapshot: () => R[];
  /** Compact automatically once the file reaches this many bytes. */
  compactAtBytes?: number;
  /** Largest encoded record (msgpack payload) accepted by `append` and by replay. */
  maxRecordBytes?: number;
  logger?: JournalLogger;
  /** Metrics hook, called after every group-commit fdatasync. */
  onSync?: (info: { ms: number; records: number }) => void;
}

export interface ParsedJournalOptions<R> {
  fs: FileSystem;
  mustExist: boolean;
  rewrite: boolean;
  onRecord: (rec: R) => void;
  snapshot: () => R[];
  compactAtBytes: number;
  maxRecordBytes: number;
  logger: JournalLogger;
  onSync: ((info: { ms: number; records: number }) => void) | undefined;
}

const silentLogger: JournalLogger = { info() {}, warn() {} };

function bad(message: string): JournalError {
  return new JournalError(JournalErrorCode.BAD_OPTIONS, message);
}

function positiveInt(name: string, v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    throw bad(`${name} must be an integer in [1, ${max}], got ${String(v)}`);
  }
  return v;
}

/** The one validating options parser: fills defaults, refuses nonsense with `JOURNAL_BAD_OPTIONS`. */
export function parseJournalOptions<R>(opts: JournalOptions<R>): ParsedJournalOptions<R> {
  if (opts === null || typeof opts !== 'object') throw bad('options object is required');
  if (typeof opts.onRecord !== 'function') throw bad('onRecord must be a function');
  if (typeof opts.snapshot !== 'function') throw bad('snapshot must be a function');
  if (opts.onSync !== undefined && typeof opts.onSync !== 'function') throw bad('onSync must be a function');
  if (opts.mustExist !== undefined && typeof opts.mustExist !== 'boolean') throw bad('mustExist must be a boolean');
  if (opts.rewrite !== undefined && typeof opts.rewrite !== 'boolean') throw bad('rewrite must be a boolean');
  if (opts.fs !== undefined && (typeof opts.fs !== 'object' || opts.fs === null || typeof opts.fs.open !== 'function')) throw bad('fs must be a FileSystem');
  return {
    fs: opts.fs ?? nodeFileSystem,
    mustExist: opts.mustExist ?? false,
    rewrite: opts.rewrite ?? false,
    onRecord: opts.onRecord,
    snapshot: opts.snapshot,
    compactAtBytes: positiveInt('compactAtBytes', opts.compactAtBytes, DEFAULT_COMPACT_AT_BYTES, Number.MAX_SAFE_INTEGER),
    maxRecordBytes: positiveInt('maxRecordBytes', opts.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_BYTES_LIMIT),
    logger: opts.logger ?? silentLogger,
    onSync: opts.onSync,
  };
}
