import { ObeliskError } from './errors.js';
import { nodeFileSystem, processView, type FileSystem } from '@pharaoh/storage';

/**
 * ext4's largest file with 4 KiB blocks: 2^32 - 1 blocks of 4096 bytes
 * (`truncate -s 17592186040321` fails with EFBIG, one byte less succeeds).
 * Past it the counter rolls over to a new segment instead of failing.
 */
export const DEFAULT_MAX_FILE_SIZE = 2 ** 44 - 4096;

/** Values are JS numbers; beyond this they stop being exact integers. */
export const MAX_VALUE = Number.MAX_SAFE_INTEGER;

/**
 * Default `reserveAhead`: 0, pure group commit. Every call waits for the sync
 * that covers it and the file's size is exactly the highest value asked for,
 * so a reopen continues right after the last value handed out.
 */
export const DEFAULT_RESERVE_AHEAD = 0;

export interface SyncInfo {
  /** Wall time of the `fdatasync` (or of the rollover steps) in milliseconds. */
  ms: number;
  /** How many calls this sync released (group-commit batch size). */
  waiters: number;
}

export interface ObeliskOptions {
  /**
   * All file access goes through this file system. Default: `nodeFileSystem`
   * (real files). The counter takes its process view (`processView`) once, at
   * open, and of that its blocking view where it offers one
   * (`FileSystem.blocking`, see counterView).
   */
  fs?: FileSystem;
  /** Bytes; the size at which the counter rolls over to a new segment. Default `DEFAULT_MAX_FILE_SIZE`. */
  maxFileSize?: number;
  /** Metrics hook, called after each successful `fdatasync` of a batch. Must not throw. */
  onSync?: (info: SyncInfo) => void;
  /**
   * Opt-in window (values; default `DEFAULT_RESERVE_AHEAD` = 0, off). Each sync
   * grows the file `reserveAhead` values past the highest value asked for, and
   * calls whose values the durable size already covers resolve at once, from
   * memory; a sync refills the window in the background once less than half
   * of it is left. Still no value is released before a size >= it is durable,
   * but the file runs ahead of the values handed out: a reopen (after close or
   * a crash) starts up to `reserveAhead` values above the last one handed out,
   * and those values are skipped, never reissued.
   */
  reserveAhead?: number;
}

export interface ResolvedOptions {
  /** The process view of `ObeliskOptions.fs`. */
  fs: FileSystem;
  maxFileSize: number;
  onSync: ((info: SyncInfo) => void) | undefined;
  reserveAhead: number;
}

/** The one validating parser for `ObeliskOptions`; throws `INVALID_ARGUMENT`. */
export function parseOptions(options: ObeliskOptions | undefined): ResolvedOptions {
  const o = options ?? {};
  if (typeof o !== 'object') throw new ObeliskError('INVALID_ARGUMENT', 'options must be an object');
  const maxFileSize = o.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  if (!Number.isSafeInteger(maxFileSize) || maxFileSize < 1) {
    throw new ObeliskError('INVALID_ARGUMENT', `maxFileSize must be a positive safe integer, got ${String(maxFileSize)}`);
  }
  if (o.onSync !== undefined && typeof o.onSync !== 'function') {
    throw new ObeliskError('INVALID_ARGUMENT', 'onSync must be a function');
  }
  const reserveAhead = o.reserveAhead ?? DEFAULT_RESERVE_AHEAD;
  if (!Number.isSafeInteger(reserveAhead) || reserveAhead < 0) {
    throw new ObeliskError('INVALID_ARGUMENT', `reserveAhead must be a non-negative safe integer, got ${String(reserveAhead)}`);
  }
  return { fs: counterView(o.fs ?? nodeFileSystem), maxFileSize, onSync: o.onSync, reserveAhead };
}

/**
 * The view of `fs` a counter works through: its process view, and of that the
 * blocking view where there is one (`nodeFileSystem.blocking()`; simulated file
 * systems have none). There the counter's reads are plain syscalls on the
 * event loop, and so are the calls that change files (the `ftruncate` that
 * grows the file, a create, an unlink) while no sync of that view is in flight
 * (otherwise they go to the thread pool); every `fdatasync` still runs on the
 * pool. Growing a sparse file only changes the inode's size (a few
 * µs), while a thread-pool round trip costs ~35–60 µs of wall time and of
 * main-thread CPU: a group-commit round (one `ftruncate`, one `fdatasync`) so
 * makes one round trip instead of two, and that round trip is, besides the
 * disk's own sync, what 256 concurrent callers wait for (issue 16, profile in
 * docs/BENCHMARKS.md). The server's time bound was already opened this way.
 */
function counterView(fs: FileSystem): FileSystem {
  const view = processView(fs);
  return view.blocking?.() ?? view;
}
