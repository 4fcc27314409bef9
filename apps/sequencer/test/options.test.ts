import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPACT_AT_BYTES, DEFAULT_SWEEP_INTERVAL_MS } from '@pharaoh/server';
import { DEFAULT_MAX_PARTITIONS, DEFAULT_MAX_PRODUCERS_PER_PARTITION, parseSequencerOptions } from '../src/options.js';

describe('parseSequencerOptions', () => {
  it('fills every default when nothing is given', () => {
    expect(parseSequencerOptions()).toEqual({
      maxPartitions: DEFAULT_MAX_PARTITIONS,
      maxProducersPerPartition: DEFAULT_MAX_PRODUCERS_PER_PARTITION,
      sweepIntervalMs: DEFAULT_SWEEP_INTERVAL_MS,
      compactAtBytes: DEFAULT_COMPACT_AT_BYTES,
    });
  });

  it('accepts numbers from code and decimal strings from the command line', () => {
    expect(parseSequencerOptions({ maxPartitions: '3', compactAtBytes: 8192 })).toMatchObject({ maxPartitions: 3, compactAtBytes: 8192 });
  });

  it('refuses out-of-range and non-integer values with BAD_OPTIONS, naming the option and its flag', () => {
    for (const bad of [{ maxPartitions: 0 }, { maxPartitions: 10_000_001 }, { maxPartitions: 'many' }, { maxPartitions: 2.5 }, { compactAtBytes: 10 }, { maxProducersPerPartition: 0 }, { maxProducersPerPartition: 1001 }]) {
      expect(() => parseSequencerOptions(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTIONS' }));
    }
    expect(() => parseSequencerOptions({ maxPartitions: -1 })).toThrow(/maxPartitions \(--max-partitions\)/);
  });
});
