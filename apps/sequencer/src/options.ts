import { intOptions, journalOptions } from '@pharaoh/server';

/**
 * Per shard. Partitions are never forgotten (a forgotten partition would
 * restart at 0, below offsets it handed out), so this caps a shard's memory
 * and its journal snapshot: 10,000 partitions of 255-byte names are ~3 MB.
 */
export const DEFAULT_MAX_PARTITIONS = 10_000;

/**
 * Producers whose last token (producerId, seq) and range a partition
 * remembers for idempotent retries; beyond it the least recently used one is
 * forgotten (its retry would then get a new range, as a request without a
 * token does). A remembered producer costs ~40 bytes of memory and snapshot.
 */
export const DEFAULT_MAX_PRODUCERS_PER_PARTITION = 8;

/** The sequencer's options (flags, environment variables, bounds), on top of the host's. */
export const SEQUENCER_OPTIONS = intOptions({
  maxPartitions: { flag: '--max-partitions <n>', env: 'PHARAOH_SEQ_MAX_PARTITIONS', description: 'partitions per shard that offsets.assign keeps', default: DEFAULT_MAX_PARTITIONS, min: 1, max: 10_000_000 },
  maxProducersPerPartition: { flag: '--max-producers-per-partition <n>', env: 'PHARAOH_SEQ_MAX_PRODUCERS_PER_PARTITION', description: 'producers per partition whose last offsets.assign token is remembered for retries', default: DEFAULT_MAX_PRODUCERS_PER_PARTITION, min: 1, max: 1000 },
  ...journalOptions('PHARAOH_SEQ'),
});

export type SequencerOptions = ReturnType<typeof SEQUENCER_OPTIONS.parse>;
/** What the offset table itself reads. */
export type OffsetTableOptions = Pick<SequencerOptions, 'maxPartitions'> & Partial<Pick<SequencerOptions, 'maxProducersPerPartition'>>;

/** The one validating parser of sequencer options (`ServerOptions.app`): fills defaults, refuses nonsense (BAD_OPTIONS). */
export const parseSequencerOptions = (app?: Record<string, unknown>): SequencerOptions => SEQUENCER_OPTIONS.parse(app);
