/**
 * txcoord as a ServiceDefinition: its registry entry, its options, one
 * TxTable per shard (journal, replay, sweeps and compaction by the server's
 * journaled-shard kit) and thin handlers. The host routes each op as the
 * registry says (`tx.begin` by shard, the others by the shard in the txId's bits).
 */
import { TXCOORD } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard, type ShardContext } from '@pharaoh/server';
import { decodeCarried, encodeCarried } from './carry.js';
import { TXCOORD_OPTIONS, type TxcoordOptions } from './options.js';
import { TxTable, type CarriedTx } from './tx-table.js';

export type TxcoordShard = JournaledShard<TxTable, TxcoordOptions>;

/** Open transactions a graceful move carried to this open (none if unreadable: presumed abort, as after a crash). */
function carriedTxs(ctx: ShardContext<TxcoordOptions>): CarriedTx[] {
  if (ctx.carried === undefined) return [];
  try {
    const txs = decodeCarried(ctx.carried, ctx.id, (id) => TXCOORD.layout.shardOf(id));
    if (txs.length > 0) ctx.logger.info({ openTransactions: txs.length }, 'open transactions carried by a shard move are open again');
    return txs;
  } catch (err) {
    ctx.logger.warn({ err }, 'the open transactions a shard move carried are unreadable: they count as aborted (presumed abort)');
    return [];
  }
}

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
        carried: carriedTxs(ctx),
        openJournal,
      },
      ctx.app,
    ),
  // A graceful move keeps the open transactions (carry.ts); the table is closed by now.
  carry: (table) => encodeCarried(table.carryOpen()),
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
