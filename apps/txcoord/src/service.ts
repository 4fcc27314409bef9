/**
 * txcoord as a ServiceDefinition: its registry entry, its options, one
 * TxTable per shard (journal, replay, sweeps and compaction by the server's
 * journaled-shard kit) and thin handlers. The host routes each op as the
 * registry says (`tx.begin` by shard, the others by the shard in the txId's bits).
 */
import { TXCOORD } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard } from '@pharaoh/server';
import { TXCOORD_OPTIONS, type TxcoordOptions } from './options.js';
import { TxTable } from './tx-table.js';

export type TxcoordShard = JournaledShard<TxTable, TxcoordOptions>;

export const txcoordService = defineJournaledService({
  spec: TXCOORD,
  options: TXCOORD_OPTIONS,
  openTable: (ctx, openJournal) =>
    TxTable.open(
      {
        ids: ctx.generator,
        layout: TXCOORD.layout,
        clock: ctx.clock,
        // A restored shard: decisions about txIds of the lost process may postdate the backup.
        ...(ctx.restored ? { inDoubtBeforeMs: ctx.restored.issuedBeforeMs } : {}),
        openJournal,
      },
      ctx.app,
    ),
  stats: (table) => ({ openTransactions: table.stats.active }),
  handlers: {
    'tx.begin': (args, shard) => shard.state.table.begin(args.timeoutMs, args.after),
    'tx.commit': (args, shard) => shard.state.table.commit(args.txId),
    'tx.abort': (args, shard) => shard.state.table.abort(args.txId),
    'tx.status': async (args, shard) => ({ status: await shard.state.table.status(args.txId) }),
    'tx.heartbeat': (args, shard) => shard.state.table.heartbeat(args.txId),
    'tx.resolve': async (args, shard) => ({ status: await shard.state.table.resolve(args.txId, args.commit, args.commitTs) }),
  },
});

/** The name the CLI's `serve` loads. */
export { txcoordService as service };
