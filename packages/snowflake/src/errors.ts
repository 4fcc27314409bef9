/**
 * Every error this package throws, one class per failure kind, each with a
 * stable `code` that callers (the server) can switch on.
 *
 * Range-type failures extend `RangeError` so that generic callers that only
 * check `instanceof RangeError` still recognise bad input.
 */

export type SnowflakeErrorCode =
  | 'INVALID_LAYOUT'
  | 'OUT_OF_RANGE'
  | 'INVALID_ARGUMENT'
  | 'AFTER_TOO_FAR_AHEAD'
  | 'TIME_EXHAUSTED'
  | 'CLOSED';

/** A layout definition was refused (bits do not total 64, bad epoch, ...). */
export class LayoutError extends RangeError {
  readonly code = 'INVALID_LAYOUT' as const;
  override readonly name = 'LayoutError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'internal' as const;
}

/** A value given to `encode`/`decode` is outside its field's range. */
export class IdRangeError extends RangeError {
  readonly code = 'OUT_OF_RANGE' as const;
  override readonly name = 'IdRangeError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'bad_request' as const;
  constructor(
    /** Which field: 'id', 'time', 'shard', 'seq' or 'after'. */
    readonly field: string,
    readonly min: bigint | number,
    readonly max: bigint | number,
    readonly value: unknown,
  ) {
    super(`${field} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
}

/** A generator option or call argument is invalid. */
export class InvalidOptionError extends RangeError {
  readonly code = 'INVALID_ARGUMENT' as const;
  override readonly name = 'InvalidOptionError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'internal' as const;
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/**
 * The caller's `after` ID lies further in the future than any shard of the
 * fleet may have issued: beyond this shard's clock plus `maxLeadMs` plus
 * `maxClockSkewMs`. Jumping there would burn the time space (and a bogus
 * `after` would stall the shard), so the request is refused. An `after` taken
 * from the fleet's own IDs is never refused: within that distance the shard
 * waits for its clock instead.
 */
export class AfterTooFarAheadError extends RangeError {
  readonly code = 'AFTER_TOO_FAR_AHEAD' as const;
  override readonly name = 'AfterTooFarAheadError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'bad_request' as const;
  constructor(
    /** The unit the answer would have to start in. */
    readonly afterUnit: number,
    /** The furthest unit this shard accepts now (clock + lead + skew + 1). */
    readonly maxUnit: number,
    /** This shard's newest clock reading, in units. */
    readonly clockUnit: number = maxUnit,
  ) {
    super(
      `after is too far ahead: an answer above it would start ${afterUnit - clockUnit} time units past this shard's clock; ` +
        `at most ${maxUnit - clockUnit} (maxLeadMs + maxClockSkewMs + 1) are accepted`,
    );
  }
}

/** The layout's time field has no room left for the unit that would be issued. */
export class TimeExhaustedError extends Error {
  readonly code = 'TIME_EXHAUSTED' as const;
  override readonly name = 'TimeExhaustedError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'unavailable' as const;
  constructor(
    readonly layout: string,
    readonly exhaustsAt: Date,
  ) {
    super(`layout ${layout} ran out of time units at ${exhaustsAt.toISOString()}`);
  }
}

/** The generator was closed; pending and later calls reject with this. */
export class GeneratorClosedError extends Error {
  readonly code = 'CLOSED' as const;
  override readonly name = 'GeneratorClosedError';
  /** How the server answers it (see ErrorKind in @pharaoh/storage). */
  readonly kind = 'unavailable' as const;
  constructor() {
    super('IdGenerator is closed');
  }
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
