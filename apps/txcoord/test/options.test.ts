import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OPEN_TX, DEFAULT_TX_RETENTION_MS, DEFAULT_TX_TIMEOUT_MS, parseTxcoordOptions } from '../src/options.js';
import { parseTxRecord } from '../src/records.js';

describe('parseTxcoordOptions', () => {
  it('fills every default when nothing is given', () => {
    expect(parseTxcoordOptions()).toMatchObject({
      defaultTimeoutMs: DEFAULT_TX_TIMEOUT_MS,
      retentionMs: DEFAULT_TX_RETENTION_MS,
      maxOpen: DEFAULT_MAX_OPEN_TX,
    });
  });

  it('accepts numbers from code and decimal strings from the command line', () => {
    expect(parseTxcoordOptions({ defaultTimeoutMs: '2500', maxOpenTx: 7, retentionMs: ' 60000 ' })).toMatchObject({
      defaultTimeoutMs: 2500,
      maxOpen: 7,
      retentionMs: 60_000,
    });
  });

  it('refuses out-of-range and non-integer values with BAD_OPTIONS, naming the option and its flag', () => {
    for (const bad of [{ defaultTimeoutMs: 5 }, { maxOpenTx: 0 }, { retentionMs: 'soon' }, { sweepIntervalMs: 1.5 }, { compactAtBytes: -1 }]) {
      expect(() => parseTxcoordOptions(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTIONS' }));
    }
    expect(() => parseTxcoordOptions({ maxRememberedTx: 'x' })).toThrow(/maxRememberedTx \(--max-remembered-tx\)/);
  });
});

describe('parseTxRecord', () => {
  it('accepts the records txcoord writes, with IDs as bigint or small numbers', () => {
    expect(parseTxRecord({ t: 'c', id: 5, ts: 6n, at: 1 })).toEqual({ t: 'c', id: 5n, ts: 6n, at: 1 });
    expect(parseTxRecord({ t: 'a', id: 5n, at: 2 })).toEqual({ t: 'a', id: 5n, at: 2 });
    expect(parseTxRecord({ t: 'f', u: -3 })).toEqual({ t: 'f', u: -3 });
  });

  it('refuses anything else with BAD_RECORD', () => {
    for (const bad of [null, 'c', { t: 'c', id: 1 }, { t: 'a', id: -1n, at: 0 }, { t: 'f', u: 1.5 }, { t: 'z' }]) {
      expect(() => parseTxRecord(bad)).toThrow(expect.objectContaining({ code: 'BAD_RECORD' }));
    }
  });
});
