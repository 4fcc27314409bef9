import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_RETENTION_MS, DEFAULT_SESSION_TIMEOUT_MS, parseSessionOptions } from '../src/options.js';
import { parseSessionRecord } from '../src/records.js';

describe('parseSessionOptions', () => {
  it('fills every default when nothing is given', () => {
    expect(parseSessionOptions()).toMatchObject({
      defaultTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS,
      retentionMs: DEFAULT_SESSION_RETENTION_MS,
      maxSessions: DEFAULT_MAX_SESSIONS,
    });
  });

  it('accepts numbers from code and decimal strings from the command line', () => {
    expect(parseSessionOptions({ defaultTimeoutMs: '2500', maxSessions: 7, maxEndedSessions: '9' })).toMatchObject({
      defaultTimeoutMs: 2500,
      maxSessions: 7,
      maxEnded: 9,
    });
  });

  it('refuses out-of-range and non-integer values with BAD_OPTIONS, naming the option and its flag', () => {
    for (const bad of [{ defaultTimeoutMs: 99 }, { maxSessions: 0 }, { retentionMs: 'later' }, { sweepIntervalMs: 2.5 }]) {
      expect(() => parseSessionOptions(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTIONS' }));
    }
    expect(() => parseSessionOptions({ maxEndedSessions: -4 })).toThrow(/maxEndedSessions/);
  });
});

describe('parseSessionRecord', () => {
  it('accepts the records session-mgr writes, with IDs as bigint or small numbers', () => {
    expect(parseSessionRecord({ t: 'o', id: 5, e: 0, to: 100, p: 'x' })).toEqual({ t: 'o', id: 5n, e: 0, to: 100, p: 'x' });
    expect(parseSessionRecord({ t: 'o', id: 5n, e: 2, to: 100 })).toEqual({ t: 'o', id: 5n, e: 2, to: 100 });
    expect(parseSessionRecord({ t: 'x', id: 5n, e: 2, at: 9 })).toEqual({ t: 'x', id: 5n, e: 2, at: 9 });
    expect(parseSessionRecord({ t: 'r', id: 5n, at: 9 })).toEqual({ t: 'r', id: 5n, at: 9 });
  });

  it('refuses anything else with BAD_RECORD', () => {
    for (const bad of [null, { t: 'o', id: 1n, e: -1, to: 1 }, { t: 'o', id: 1n, e: 0, to: 1, p: 3 }, { t: 'c', id: 1n, e: 0 }, { t: 'q', id: 1n }, { t: 'o', e: 0, to: 1 }]) {
      expect(() => parseSessionRecord(bad)).toThrow(expect.objectContaining({ code: 'BAD_RECORD' }));
    }
  });
});
