/**
 * The sequencer as a ServiceDefinition: its registry entry, its options, one
 * OffsetTable per shard (journal, replay and compaction by the server's
 * journaled-shard kit) and thin handlers. Both ops are routed by shard (the
 * client computes it from the table or partition key); each refuses a key of
 * another shard (NOT_OWNER).
 */
import { SEQUENCER } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard } from '@pharaoh/server';
import { nextCdcRange } from './cdc.js';
import { OffsetTable } from './offset-table.js';
import { SEQUENCER_OPTIONS, type SequencerOptions } from './options.js';

export type SequencerShard = JournaledShard<OffsetTable, SequencerOptions>;

export const sequencerService = defineJournaledService({
  spec: SEQUENCER,
  options: SEQUENCER_OPTIONS,
  openTable: (ctx, openJournal) =>
    OffsetTable.open(
      {
        shard: ctx.id,
        clock: ctx.clock,
        // The offset ceiling counts from this layout's epoch; a restored shard resumes above it (src/offset-ceiling.ts).
        epochMs: SEQUENCER.layout.epochMs,
        restored: ctx.restored,
        openJournal,
      },
      ctx.app,
    ),
  stats: () => ({}),
  handlers: {
    'cdc.next': (args, shard) => nextCdcRange(shard.generator, shard.id, args.table, args.count),
    'offsets.assign': (args, shard) => shard.state.table.assign(args.partition, args.count),
  },
});

/** The name the CLI's `serve` loads. */
export { sequencerService as service };
