/**
 * Opening a journal directory: finish or discard an interrupted compaction,
 * create the log if it does not exist, replay it, and cut off a torn tail.
 */
import { join } from 'node:path';
import { HEADER, HEADER_BYTES, headerMatches, scanFrames } from './codec.js';
import { JournalError, JournalErrorCode } from './errors.js';
import type { JournalFile, JournalFs } from './fs.js';
import type { JournalLogger } from './options.js';

export const LOG_NAME = 'journal.log';
export const COMPACT_NAME = 'journal.log.compact';
export const LOCK_NAME = 'journal.lock';

export interface Recovered {
  file: JournalFile;
  size: number;
  records: number;
  truncatedBytes: number;
}

/**
 * Write `contents` (header + frames) to the compaction file, make it durable,
 * and return it still open. The log name is not touched.
 */
export async function writeDurableTemp(fs: JournalFs, dir: string, contents: Uint8Array): Promise<JournalFile> {
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
export async function publishTemp(fs: JournalFs, dir: string): Promise<void> {
  await fs.rename(join(dir, COMPACT_NAME), join(dir, LOG_NAME));
  await fs.fsyncDir(dir);
}

/**
 * Create an empty log the same way compaction does, so the log name only ever
 * points at a file whose header is already durable.
 */
async function createEmptyLog(fs: JournalFs, dir: string): Promise<JournalFile> {
  const file = await writeDurableTemp(fs, dir, HEADER);
  try {
    await publishTemp(fs, dir);
    return file;
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

/** Replay the log in `dir` into `onRecord` and leave it ending at its last intact record (durably). */
export async function recover(
  fs: JournalFs,
  dir: string,
  maxRecordBytes: number,
  onRecord: (rec: unknown) => void,
  logger: JournalLogger,
): Promise<Recovered> {
  // A compaction file that is still here never became the log (the rename is
  // atomic): the log is complete without it. Losing this unlink in a crash is
  // harmless — the next open removes it again.
  await fs.unlink(join(dir, COMPACT_NAME));
  const logPath = join(dir, LOG_NAME);
  const st = await fs.stat(logPath);
  if (st === undefined || st.size < HEADER_BYTES) {
    // Missing, or a header shorter than 8 bytes (possible only for a log made by
    // something else): no record can ever have been acknowledged from it.
    if (st !== undefined) logger.warn({ bytes: st.size }, 'journal: log shorter than its header, recreating it');
    return { file: await createEmptyLog(fs, dir), size: HEADER_BYTES, records: 0, truncatedBytes: 0 };
  }
  const file = await fs.open(logPath, { create: false });
  try {
    return await replayOpenLog(file, logPath, maxRecordBytes, onRecord, logger);
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

async function replayOpenLog(
  file: JournalFile,
  logPath: string,
  maxRecordBytes: number,
  onRecord: (rec: unknown) => void,
  logger: JournalLogger,
): Promise<Recovered> {
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
    // The tail was never acknowledged (it was not durable); make the cut durable
    // before appending after it, so a later crash cannot resurrect it.
    await file.truncate(scan.validEnd);
    await file.datasync();
    logger.warn(
      { path: logPath, offset: scan.validEnd, truncatedBytes, reason: scan.tail, records: scan.records },
      'journal: truncated a torn or corrupt tail',
    );
  }
  logger.info({ path: logPath, records: scan.records, bytes: scan.validEnd }, 'journal: replayed');
  return { file, size: scan.validEnd, records: scan.records, truncatedBytes };
}
