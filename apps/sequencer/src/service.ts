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
import { halfToken } from './errors.js';
import { OffsetTable, type AssignToken } from './offset-table.js';
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
    'offsets.assign': (args, shard) => shard.state.table.assign(args.partition, args.count, assignToken(args.producerId, args.seq)),
  },
});

/**
 * The idempotency token of an `offsets.assign`: `producerId` and `seq` both
 * (each a uint, checked by the registry's field kinds) or neither (a request
 * as before tokens: no retry protection); one without the other is a
 * BAD_REQUEST naming the missing field.
 */
export function assignToken(producerId: number | undefined, seq: number | undefined): AssignToken | undefined {
  if (producerId === undefined && seq === undefined) return undefined;
  if (producerId === undefined) throw halfToken('producerId', 'seq');
  if (seq === undefined) throw halfToken('seq', 'producerId');
  return { producerId, seq };
}

/** The name the CLI's `serve` loads. */
export { sequencerService as service };
