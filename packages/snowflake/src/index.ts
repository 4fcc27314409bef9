/**
 * @pharaoh/snowflake: 64-bit ID layouts and the crash-safe, monotonic
 * per-shard ID generator.
 */
export {
  defineLayout,
  TSO_LAYOUT,
  TX_LAYOUT,
  SESSION_LAYOUT,
  SCHEMA_LAYOUT,
  CDC_LAYOUT,
  DEFAULT_EPOCH_MS,
  DEFAULT_EPOCH_MS as DEFAULT_EPOCH,
  DEFAULT_UNIT_MS,
} from './layout.js';
export type { Layout, LayoutSpec, DecodedId, IdFields } from './layout.js';
export { IdGenerator } from './generator.js';
export { sharedBound } from './bound-window.js';
export type { IdRange, GeneratorStats } from './generator.js';
export {
  DEFAULT_WINDOW_MS,
  DEFAULT_MAX_LEAD_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_BOUND_TICK_MS,
  SYSTEM_CLOCK,
  parseGeneratorOptions,
} from './options.js';
export type { Clock, DurableBound, GeneratorEvent, GeneratorOptions } from './options.js';
export {
  LayoutError,
  IdRangeError,
  InvalidOptionError,
  AfterTooFarAheadError,
  TimeExhaustedError,
  GeneratorClosedError,
} from './errors.js';
export type { SnowflakeErrorCode } from './errors.js';
