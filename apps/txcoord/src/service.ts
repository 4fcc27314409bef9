/**
 * txcoord as a ServiceDefinition for @pharaoh/server: one TxTable per shard,
 * its journal in `<shard dir>/journal/`, a sweep timer per shard, and thin
 * handlers. The host routes ID-addressed requests by the shard in the txId's
 * bits and answers NOT_OWNER for shards it does not host.
 */
import { openShardJournal, type Journal } from '@pharaoh/journal';
import type { ServiceDefinition, ShardContext } from '@pharaoh/server';
import { TX_LAYOUT } from '@pharaoh/snowflake';
import { parseTxcoordOptions, TXCOORD_CLI_OPTIONS, type TxcoordOptions } from './options.js';
import type { TxRecord } from './records.js';
import { TxTable } from './tx-table.js';

export interface TxcoordShard {
  table: TxTable;
  /** The shard's journal, for /metrics (the table owns it and closes it). */
  journal: Journal<TxRecord>;
  options: TxcoordOptions;
}

/** Open a shard's table: replay its journal, then sweep it on a timer (a failing sweep fails the shard). */
async function openShard(ctx: ShardContext): Promise<TxcoordShard> {
  const options = parseTxcoordOptions(ctx.options.app);
  let journal: Journal<TxRecord> | undefined;
  const table = await TxTable.open(
    {
      ids: ctx.generator,
      layout: TX_LAYOUT,
      clock: ctx.clock,
      // A restored shard: decisions about txIds of the lost process may postdate the backup.
      ...(ctx.restored ? { inDoubtBeforeMs: ctx.restored.issuedBeforeMs } : {}),
      // On the shard's file system; a shard that has issued IDs before must find its journal.
      openJournal: async (hooks) =>
        (journal = await openShardJournal<TxRecord>(ctx.dir, {
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

export const txcoordService: ServiceDefinition<TxcoordShard> = {
  name: 'txcoord',
  layout: TX_LAYOUT,
  cliOptions: TXCOORD_CLI_OPTIONS,
  openShard,
  stats: (state) => ({ journal: state.journal, openTransactions: state.table.stats.active }),
  async closeShard(state) {
    await state.table.close();
  },
  handlers: {
    'tx.begin': {
      shardOf: (args) => args.shard,
      handle: (args, shard) => shard.state.table.begin(args.timeoutMs, args.after),
    },
    'tx.commit': {
      shardOf: (args) => TX_LAYOUT.shardOf(args.txId),
      handle: (args, shard) => shard.state.table.commit(args.txId),
    },
    'tx.abort': {
      shardOf: (args) => TX_LAYOUT.shardOf(args.txId),
      handle: (args, shard) => shard.state.table.abort(args.txId),
    },
    'tx.status': {
      shardOf: (args) => TX_LAYOUT.shardOf(args.txId),
      handle: async (args, shard) => ({ status: await shard.state.table.status(args.txId) }),
    },
    'tx.heartbeat': {
      shardOf: (args) => TX_LAYOUT.shardOf(args.txId),
      handle: (args, shard) => shard.state.table.heartbeat(args.txId),
    },
  },
};
