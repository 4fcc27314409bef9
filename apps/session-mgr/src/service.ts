/**
 * session-mgr as a ServiceDefinition for @pharaoh/server: one SessionTable per
 * shard, its journal in `<shard dir>/journal/`, a sweep timer per shard, and
 * thin handlers. The host routes sessionId-addressed requests by the shard in
 * the ID's bits; the table refuses producer names of other shards.
 */
import { openShardJournal, type Journal } from '@pharaoh/journal';
import type { ServiceDefinition, ShardContext } from '@pharaoh/server';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { parseSessionOptions, SESSION_CLI_OPTIONS, type SessionMgrOptions } from './options.js';
import type { SessionRecord } from './records.js';
import { SessionTable } from './session-table.js';

export interface SessionShard {
  table: SessionTable;
  /** The shard's journal, for /metrics (the table owns it and closes it). */
  journal: Journal<SessionRecord>;
  options: SessionMgrOptions;
}

/** Open a shard's table: replay its journal, then sweep it on a timer (a failing sweep fails the shard). */
async function openShard(ctx: ShardContext): Promise<SessionShard> {
  const options = parseSessionOptions(ctx.options.app);
  let journal: Journal<SessionRecord> | undefined;
  const table = await SessionTable.open(
    {
      shard: ctx.id,
      ids: ctx.generator,
      clock: ctx.clock,
      // Epochs count seconds from this layout's epoch; a restored shard fences what it may have lost.
      layout: SESSION_LAYOUT,
      restored: ctx.restored,
      // On the shard's file system; a shard that has issued IDs before must find its journal.
      openJournal: async (hooks) =>
        (journal = await openShardJournal<SessionRecord>(ctx.dir, {
          onRecord: hooks.onRecord,
          snapshot: hooks.snapshot,
          compactAtBytes: options.compactAtBytes,
          logger: ctx.logger,
          fs: ctx.fs,
          mustExist: ctx.servedBefore,
          // Reopened after a failed write-back: write what was replayed anew.
          rewrite: ctx.recovering,
          onSync: ctx.onJournalSync,
        })),
    },
    options,
  );
  ctx.every(options.sweepIntervalMs, () => table.sweep());
  return { table, journal: journal!, options };
}

const bySessionId = (args: { sessionId: bigint }): number => SESSION_LAYOUT.shardOf(args.sessionId);

export const sessionService: ServiceDefinition<SessionShard> = {
  name: 'session-mgr',
  layout: SESSION_LAYOUT,
  cliOptions: SESSION_CLI_OPTIONS,
  openShard,
  stats: (state) => ({ journal: state.journal, liveSessions: state.table.stats.live }),
  async closeShard(state) {
    await state.table.close();
  },
  handlers: {
    'session.open': {
      shardOf: (args) => args.shard,
      handle: (args, shard) => shard.state.table.openSession(args.producer, args.timeoutMs, args.after),
    },
    'session.heartbeat': {
      shardOf: bySessionId,
      handle: (args, shard) => shard.state.table.heartbeat(args.sessionId, args.epoch),
    },
    'session.close': {
      shardOf: bySessionId,
      handle: (args, shard) => shard.state.table.closeSession(args.sessionId, args.epoch),
    },
    'session.validate': {
      shardOf: bySessionId,
      handle: async (args, shard) => ({ status: await shard.state.table.validate(args.sessionId, args.epoch) }),
    },
  },
};
