import { describe, expect, it } from 'vitest';
import { errorKind } from '../src/index.js';

class Kinded extends Error {
  constructor(readonly kind: string, options?: { cause?: unknown }) {
    super(kind, options);
  }
}

describe('errorKind', () => {
  it('reads the kind an error carries', () => {
    for (const k of ['bad_request', 'unavailable', 'storage', 'internal']) expect(errorKind(new Kinded(k))).toBe(k);
  });

  it('walks the cause chain a few levels, and counts a bare errno from the disk as storage', () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    expect(errorKind(new Error('wrapped', { cause: new Error('again', { cause: new Kinded('unavailable') }) }))).toBe('unavailable');
    expect(errorKind(new Error('journal write failed', { cause: eio }))).toBe('storage');
  });

  it('is internal for anything else: no kind, an unknown kind, a code that is not an errno, a non-error', () => {
    expect(errorKind(new Error('a bug'))).toBe('internal');
    expect(errorKind(new Kinded('sometimes'))).toBe('internal');
    expect(errorKind(Object.assign(new Error('x'), { code: 'JOURNAL_POISONED' }))).toBe('internal');
    expect(errorKind('EIO')).toBe('internal');
  });
});
