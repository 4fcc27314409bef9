import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import { TXCOORD_ERROR_CODES, TxcoordError } from './errors.js';

/** A transaction that asks for no timeout gets 10 s: long enough for a produce-and-commit round trip, short enough that a dead client's transaction does not linger. */
export const DEFAULT_TX_TIMEOUT_MS = 10_000;
/** Decisions are remembered for 10 min, so a client retrying a commit after a network blip gets the same answer. */
export const DEFAULT_TX_RETENTION_MS = 600_000;
/** Per shard. Begins beyond this answer OVERLOADED; bounds the memory of undecided transactions. */
export const DEFAULT_MAX_OPEN_TX = 10_000;
/** Per shard. Beyond this the oldest decisions are forgotten early (status UNKNOWN); bounds memory and snapshot size. */
export const DEFAULT_MAX_REMEMBERED_TX = 200_000;
/** How often the timer looks for expired transactions and decisions past retention. */
export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;
/** The journal is compacted (rewritten as the remembered decisions) when it reaches this size. */
export const DEFAULT_COMPACT_AT_BYTES = 16 * 1024 * 1024;

export interface TxTableOptions {
  /** Timeout of a transaction that does not ask for one (ms). */
  defaultTimeoutMs: number;
  /** How long a decision is remembered after it was made (ms). */
  retentionMs: number;
  /** Most undecided transactions per shard. */
  maxOpen: number;
  /** Most remembered decisions per shard. */
  maxRemembered: number;
}

export interface TxcoordOptions extends TxTableOptions {
  sweepIntervalMs: number;
  compactAtBytes: number;
}

/** The command-line flags (and environment variables) of txcoord, on top of the host's. */
export const TXCOORD_CLI_OPTIONS = [
  { flags: '--default-timeout-ms <ms>', env: 'PHARAOH_TX_DEFAULT_TIMEOUT_MS', description: `transaction timeout when begin asks for none (default ${DEFAULT_TX_TIMEOUT_MS})` },
  { flags: '--retention-ms <ms>', env: 'PHARAOH_TX_RETENTION_MS', description: `how long decisions are remembered (default ${DEFAULT_TX_RETENTION_MS})` },
  { flags: '--max-open-tx <n>', env: 'PHARAOH_TX_MAX_OPEN', description: `undecided transactions per shard before OVERLOADED (default ${DEFAULT_MAX_OPEN_TX})` },
  { flags: '--max-remembered-tx <n>', env: 'PHARAOH_TX_MAX_REMEMBERED', description: `remembered decisions per shard (default ${DEFAULT_MAX_REMEMBERED_TX})` },
  { flags: '--sweep-interval-ms <ms>', env: 'PHARAOH_TX_SWEEP_INTERVAL_MS', description: `expiry sweep period (default ${DEFAULT_SWEEP_INTERVAL_MS})` },
  { flags: '--compact-at-bytes <n>', env: 'PHARAOH_TX_COMPACT_AT_BYTES', description: `journal size that triggers compaction (default ${DEFAULT_COMPACT_AT_BYTES})` },
];

/**
 * Read one integer option. Values from the command line arrive as strings,
 * values from code as numbers; both are accepted, anything else is refused.
 */
export function intOption(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new TxcoordError(TXCOORD_ERROR_CODES.BAD_OPTIONS, `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return n;
}

/** The one validating parser of txcoord options (`ServerOptions.app`): fills defaults, refuses nonsense. */
export function parseTxcoordOptions(app: Record<string, unknown> = {}): TxcoordOptions {
  const DAY = 86_400_000;
  return {
    defaultTimeoutMs: intOption('defaultTimeoutMs', app['defaultTimeoutMs'], DEFAULT_TX_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
    retentionMs: intOption('retentionMs', app['retentionMs'], DEFAULT_TX_RETENTION_MS, 1_000, 30 * DAY),
    maxOpen: intOption('maxOpenTx', app['maxOpenTx'], DEFAULT_MAX_OPEN_TX, 1, 10_000_000),
    maxRemembered: intOption('maxRememberedTx', app['maxRememberedTx'], DEFAULT_MAX_REMEMBERED_TX, 1, 100_000_000),
    sweepIntervalMs: intOption('sweepIntervalMs', app['sweepIntervalMs'], DEFAULT_SWEEP_INTERVAL_MS, 10, 60_000),
    compactAtBytes: intOption('compactAtBytes', app['compactAtBytes'], DEFAULT_COMPACT_AT_BYTES, 4096, 2 ** 40),
  };
}
