/**
 * The host answers a handler's error by the kind the error carries (see
 * dispatch.ts): every error class below the server says its own kind, so no
 * layer matches another package's codes or class names.
 */
import { describe, expect, it } from 'vitest';
import { JournalError, JournalErrorCode } from '@pharaoh/journal';
import { ObeliskError } from '@pharaoh/obelisk';
import { AfterTooFarAheadError, GeneratorClosedError, IdRangeError, InvalidOptionError, TimeExhaustedError } from '@pharaoh/snowflake';
import { errorKind } from '@pharaoh/storage';

describe('error kinds of the packages the host serves from', () => {
  it.each([
    ['a closed journal', new JournalError(JournalErrorCode.CLOSED, 'closed'), 'unavailable'],
    ['a poisoned journal', new JournalError(JournalErrorCode.POISONED, 'poisoned'), 'storage'],
    ['a journal that failed to compact', new JournalError(JournalErrorCode.COMPACTION_FAILED, 'x'), 'storage'],
    ['a closed counter', new ObeliskError('CLOSED', 'closed'), 'unavailable'],
    ['a poisoned counter', new ObeliskError('POISONED', 'poisoned'), 'storage'],
    ['an after too far ahead', new AfterTooFarAheadError(10, 5), 'bad_request'],
    ['an ID out of range', new IdRangeError('after', 0n, 1n, 2n), 'bad_request'],
    ['a time space used up', new TimeExhaustedError('tso', new Date(0)), 'unavailable'],
    ['a closed generator', new GeneratorClosedError(), 'unavailable'],
    ['a bad generator option (a bug)', new InvalidOptionError('windowMs', 'bad'), 'internal'],
  ] as const)('%s is %s', (_what, err, kind) => {
    expect(errorKind(err)).toBe(kind);
  });
});
