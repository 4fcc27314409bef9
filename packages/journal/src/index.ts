export { Journal } from './journal.js';
export type { JournalStats } from './journal.js';
export { JournalError, JournalErrorCode } from './errors.js';
export { DEFAULT_COMPACT_AT_BYTES, DEFAULT_MAX_RECORD_BYTES, MAX_RECORD_BYTES_LIMIT, parseJournalOptions } from './options.js';
export type { JournalOptions, JournalLogger } from './options.js';
export { openShardJournal, SHARD_JOURNAL_DIR } from './shard-journal.js';
