/**
 * Opening a journal directory: finish or discard an interrupted compaction,
 * create the log if it does not exist (or refuse, when it must exist), make
 * what is there durable, replay it, and cut off a torn tail.
 */
import { join } from 'node:path';
import { unlinkIfExists, type FileHandle, type FileSystem } from '@pharaoh/storage';
import { HEADER, HEADER_BYTES, headerMatches, scanFrames } from './codec.js';
import { JournalError, JournalErrorCode } from './errors.js';
import type { JournalLogger } from './options.js';

export const LOG_NAME = 'journal.log';
export const COMPACT_NAME = 'journal.log.compact';
export const LOCK_NAME = 'journal.lock';

export interface Recovered {
  file: FileHandle;
  size: number;
  records: number;
  truncatedBytes: number;
}

export interface RecoverOptions {
  maxRecordBytes: number;
  mustExist: boolean;
  onRecord: (rec: unknown) => void;
  logger: JournalLogger;
}

/**
 * Write `contents` (header + frames) to the compaction file, make it durable,
 * and return it still open. The log name is not touched.
 */
export async function writeDurableTemp(fs: FileSystem, dir: string, contents: Uint8Array): Promise<FileHandle> {
  const tmp = await fs.open(join(dir, COMPACT_NAME), { create: true, truncate: true });
  try {
    await tmp.write(contents, 0);
    await tmp.datasync();
    return tmp;
  } catch (err) {
    await tmp.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Publish the durable compaction file as the log: rename over the old log,
 * then fsync the directory. A crash before the rename is durable leaves the
 * old log (complete); after it, the new one (complete). Nothing in between.
 */
export async function publishTemp(fs: FileSystem, dir: string): Promise<void> {
  await fs.rename(join(dir, COMPACT_NAME), join(dir, LOG_NAME));
  await fs.syncDir(dir);
}

/**
 * Create an empty log the same way compaction does, so the log name only ever
 * points at a file whose header is already durable.
 */
async function createEmptyLog(fs: FileSystem, dir: string): Promise<FileHandle> {
  const file = await writeDurableTemp(fs, dir, HEADER);
  try {
    await publishTemp(fs, dir);
    return file;
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

/** What is wrong with a log of stat `st` that cannot hold a record, for messages. */
function whatIsMissing(st: { size: number } | undefined): string {
  return st === undefined ? `has no ${LOG_NAME}` : `has a ${LOG_NAME} of ${st.size} bytes, shorter than its ${HEADER_BYTES}-byte header`;
}

/** The refusal of a journal that must exist but does not (`mustExist`). */
export function missingJournal(dir: string, what: string): JournalError {
  return new JournalError(
    JournalErrorCode.MISSING,
    `journal ${dir} ${what}, but it must exist (mustExist): its shard has issued IDs before, so the journal was created then and may have held ` +
      'acknowledged records (committed transactions, fenced epochs). Starting an empty one would silently forget them: presumed abort ' +
      'would turn committed transactions into aborted ones and fenced epochs would validate again. Refusing to open; nothing was created ' +
      'or written. Restore the shard directory, journal/ included, from a backup or from the host it was moved from. Do not delete the ' +
      'shard directory to get past this: its bound is what keeps IDs from being issued twice.',
  );
}

/**
 * With `mustExist`, check before anything is created or locked that the
 * directory and a log that can hold records are there.
 */
export async function checkExists(fs: FileSystem, dir: string): Promise<void> {
  const d = await fs.stat(dir);
  if (d === undefined || !d.isDirectory) throw missingJournal(dir, d === undefined ? 'is missing' : 'is not a directory');
  const st = await fs.stat(join(dir, LOG_NAME));
  if (st === undefined || st.size < HEADER_BYTES) throw missingJournal(dir, whatIsMissing(st));
}

/**
 * Replay the log in `dir` into `onRecord` and leave it ending at its last
 * intact record (durably). Everything replayed is durable before the first
 * record is delivered.
 */
export async function recover(fs: FileSystem, dir: string, o: RecoverOptions): Promise<Recovered> {
  const logPath = join(dir, LOG_NAME);
  const st = await fs.stat(logPath);
  if (st === undefined || st.size < HEADER_BYTES) {
    // Missing, or a header shorter than 8 bytes (possible only for a log made by
    // something else): no record can ever have been acknowledged from it.
    if (o.mustExist) throw missingJournal(dir, whatIsMissing(st));
    if (st !== undefined) o.logger.warn({ bytes: st.size }, 'journal: log shorter than its header, recreating it');
    return { file: await createEmptyLog(fs, dir), size: HEADER_BYTES, records: 0, truncatedBytes: 0 };
  }
  // A compaction file that is still here never became the log (the rename is
  // atomic): the log is complete without it. The directory fsync below makes
  // the removal durable; losing it earlier is harmless (the next open removes it again).
  await unlinkIfExists(fs, join(dir, COMPACT_NAME));
  const file = await fs.open(logPath);
  try {
    // A process that died before its fdatasync returned (or before the
    // directory fsync of a compaction's rename) left bytes and an entry that
    // only the page cache holds. Replaying them serves them (a decision, an
    // epoch), so they must survive a power cut from now on: make them durable
    // before the first record is delivered.
    await file.datasync();
    await fs.syncDir(dir);
    return await replayOpenLog(file, logPath, o);
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

async function replayOpenLog(file: FileHandle, logPath: string, o: RecoverOptions): Promise<Recovered> {
  const { maxRecordBytes, onRecord, logger } = o;
  const size = await file.size();
  const head = new Uint8Array(HEADER_BYTES);
  await file.read(head, HEADER_BYTES, 0);
  if (!headerMatches(head)) {
    // Not a torn write (the header is durable before the log name exists): refuse
    // rather than truncate a file we do not understand.
    throw new JournalError(JournalErrorCode.BAD_FORMAT, `${logPath} does not start with the journal header`);
  }
  const deliver = (rec: unknown): void => {
    try {
      onRecord(rec);
    } catch (err) {
      throw new JournalError(JournalErrorCode.REPLAY_FAILED, `onRecord threw during replay of ${logPath}`, { cause: err });
    }
  };
  const scan = await scanFrames(file, size, maxRecordBytes, deliver);
  const truncatedBytes = size - scan.validEnd;
  if (truncatedBytes > 0) {
    // The tail was never acknowledged (no append resolves before its frames are
    // whole and durable); make the cut durable
    // before appending after it, so a later crash cannot resurrect it.
    await file.truncate(scan.validEnd);
    await file.datasync();
    logger.warn(
      { path: logPath, offset: scan.validEnd, truncatedBytes, reason: scan.tail, records: scan.records },
      'journal: truncated a torn or corrupt tail',
    );
  }
  logger.debug?.({ path: logPath, records: scan.records, bytes: scan.validEnd }, 'journal: replayed');
  return { file, size: scan.validEnd, records: scan.records, truncatedBytes };
}
