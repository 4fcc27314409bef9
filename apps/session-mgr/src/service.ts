/**
 * session-mgr as a ServiceDefinition: its registry entry, its options, one
 * SessionTable per shard (journal, replay, sweeps and compaction by the
 * server's journaled-shard kit) and thin handlers. The host routes each op as
 * the registry says (`session.open` by shard, the others by the shard in the
 * sessionId's bits); the table refuses producer names of other shards.
 */
import { SESSION_MGR } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard } from '@pharaoh/server';
import { SESSION_OPTIONS, type SessionMgrOptions } from './options.js';
import { SessionTable } from './session-table.js';

export type SessionShard = JournaledShard<SessionTable, SessionMgrOptions>;

export const sessionService = defineJournaledService({
  spec: SESSION_MGR,
  options: SESSION_OPTIONS,
  openTable: (ctx, openJournal) =>
    SessionTable.open(
      {
        shard: ctx.id,
        ids: ctx.generator,
        clock: ctx.clock,
        // Epochs count seconds from this layout's epoch; a restored shard fences what it may have lost.
        layout: SESSION_MGR.layout,
        restored: ctx.restored,
        openJournal,
      },
      ctx.app,
    ),
  stats: (table) => ({ liveSessions: table.stats.live }),
  handlers: {
    'session.open': (args, shard) => shard.state.table.openSession(args.producer, args.timeoutMs, args.after),
    'session.heartbeat': (args, shard) => shard.state.table.heartbeat(args.sessionId, args.epoch),
    'session.close': (args, shard) => shard.state.table.closeSession(args.sessionId, args.epoch),
    'session.validate': async (args, shard) => ({ status: await shard.state.table.validate(args.sessionId, args.epoch) }),
  },
});

/** The name the CLI's `serve` loads. */
export { sessionService as service };
