/**
 * Where a sharded service (txcoord, session-mgr) keeps a shard's journal:
 * `<shard dir>/journal/`. Lives here, not in each app, so both open it the
 * same way, including the test hook that swaps the file layer.
 */
import { join } from 'node:path';
import type { JournalFs } from './fs.js';
import { Journal } from './journal.js';
import type { JournalOptions } from './options.js';

/** The journal's directory inside a shard directory. */
export const SHARD_JOURNAL_DIR = 'journal';

/**
 * Test hook: a `journalFs` entry of an options bag (the server's
 * `ServerOptions.app`) replaces the journal's file layer, e.g. with a
 * SimulatedJournalFs that fails on demand. Anything that is not a file layer
 * is ignored.
 */
export function journalFsFrom(bag: Record<string, unknown>): JournalFs | undefined {
  const fs = bag['journalFs'];
  return typeof fs === 'object' && fs !== null && typeof (fs as JournalFs).open === 'function' ? (fs as JournalFs) : undefined;
}

/**
 * Open (creating if needed, and replaying) the journal of the shard whose
 * directory is `shardDir`, on the file layer `bag.journalFs` if set. What is
 * durable when it resolves is as for {@link Journal.open}.
 */
export function openShardJournal<R>(shardDir: string, options: Omit<JournalOptions<R>, 'fs'>, bag: Record<string, unknown> = {}): Promise<Journal<R>> {
  const fs = journalFsFrom(bag);
  return Journal.open<R>(join(shardDir, SHARD_JOURNAL_DIR), fs ? { ...options, fs } : options);
}
