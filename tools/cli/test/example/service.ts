/** The example service: its entry, one option, a MarkTable per shard (by the journaled-shard kit), two handlers. */
import { defineJournaledService, intOptions, journalOptions } from '@pharaoh/server';
import { EXAMPLE } from './entry.js';
import { MarkTable } from './table.js';

export const exampleService = defineJournaledService({
  spec: EXAMPLE,
  options: intOptions({
    maxMarks: { flag: '--max-marks <n>', env: 'PHARAOH_EXAMPLE_MAX_MARKS', description: 'marks per shard (unused: shows an option)', default: 1000, min: 1, max: 1_000_000 },
    ...journalOptions('PHARAOH_EXAMPLE'),
  }),
  openTable: (ctx, openJournal) => MarkTable.open(ctx.generator, openJournal),
  handlers: {
    'ex.mark': (args, shard) => shard.state.table.mark(args.after),
    'ex.seen': (args, shard) => shard.state.table.seen(args.markId),
  },
});

export { exampleService as service };
