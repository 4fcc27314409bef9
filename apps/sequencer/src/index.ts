/** @pharaoh/sequencer: CDC event ids (per table strictly increasing) and dense per-partition offsets. */
export { assignToken, sequencerService } from './service.js';
export type { SequencerShard } from './service.js';
export { OffsetTable } from './offset-table.js';
export type { AssignToken, OffsetRange, OffsetTableDeps, SequencerJournal, SequencerJournalHooks } from './offset-table.js';
export { DEFAULT_CDC_COUNT, checkTableShard, nextCdcRange } from './cdc.js';
export { OFFSET_RATE_PER_MS, OFFSET_LEAD_MS, MAX_OFFSET, ceilingAt, restoreFloor } from './offset-ceiling.js';
export type { OffsetRestore } from './offset-ceiling.js';
export { DEFAULT_MAX_PARTITIONS, DEFAULT_MAX_PRODUCERS_PER_PARTITION, SEQUENCER_OPTIONS, parseSequencerOptions } from './options.js';
export type { SequencerOptions, OffsetTableOptions } from './options.js';
export { parseSequencerRecord } from './records.js';
export type { SequencerRecord, AssignRecord } from './records.js';
/** The journal options every journaled service shares (the kit's defaults). */
export { DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_COMPACT_AT_BYTES } from '@pharaoh/server';
