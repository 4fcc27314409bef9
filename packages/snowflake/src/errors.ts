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
}

/** A value given to `encode`/`decode` is outside its field's range. */
export class IdRangeError extends RangeError {
  readonly code = 'OUT_OF_RANGE' as const;
  override readonly name = 'IdRangeError';
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
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/**
 * The caller's `after` ID lies further in the future than the generator is
 * allowed to run ahead of its clock (`maxLeadMs`). Jumping there would burn
 * the time space (and a bogus `after` would stall the shard), so the request
 * is refused instead; the caller may retry once the clocks have converged.
 */
export class AfterTooFarAheadError extends RangeError {
  readonly code = 'AFTER_TOO_FAR_AHEAD' as const;
  override readonly name = 'AfterTooFarAheadError';
  constructor(
    readonly afterUnit: number,
    readonly maxUnit: number,
  ) {
    super(`after's time unit ${afterUnit} is beyond the allowed lead (max unit ${maxUnit})`);
  }
}

/** The layout's time field has no room left for the unit that would be issued. */
export class TimeExhaustedError extends Error {
  readonly code = 'TIME_EXHAUSTED' as const;
  override readonly name = 'TimeExhaustedError';
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
  constructor() {
    super('IdGenerator is closed');
  }
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
