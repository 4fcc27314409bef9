/**
 * Where a sharded service (txcoord, session-mgr) keeps a shard's journal:
 * `<shard dir>/journal/`. Lives here, not in each app, so both open it the
 * same way.
 */
import { join } from 'node:path';
import { Journal } from './journal.js';
import type { JournalOptions } from './options.js';

/** The journal's directory inside a shard directory. */
export const SHARD_JOURNAL_DIR = 'journal';

/**
 * Open (creating if needed, and replaying) the journal of the shard whose
 * directory is `shardDir`. Pass the shard's file system (`ctx.fs`) as `fs`,
 * and `mustExist: ctx.servedBefore`: a shard that has issued IDs before
 * created its journal then, so a missing one is refused (`JOURNAL_MISSING`)
 * instead of silently starting empty. What is durable when it resolves is as
 * for {@link Journal.open}.
 */
export function openShardJournal<R>(shardDir: string, options: JournalOptions<R>): Promise<Journal<R>> {
  return Journal.open<R>(join(shardDir, SHARD_JOURNAL_DIR), options);
}
