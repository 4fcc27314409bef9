import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import { intOptions, journalOptions } from '@pharaoh/server';

/** A transaction that asks for no timeout gets 10 s: long enough for a produce-and-commit round trip, short enough that a dead client's transaction does not linger. */
export const DEFAULT_TX_TIMEOUT_MS = 10_000;
/** Decisions are remembered for 10 min, so a client retrying a commit after a network blip gets the same answer. */
export const DEFAULT_TX_RETENTION_MS = 600_000;
/** Per shard. Begins beyond this answer OVERLOADED; bounds the memory of undecided transactions. */
export const DEFAULT_MAX_OPEN_TX = 10_000;
/** Per shard. Beyond this the oldest decisions are forgotten early (status UNKNOWN); bounds memory and snapshot size. */
export const DEFAULT_MAX_REMEMBERED_TX = 200_000;

const DAY = 86_400_000;

/** txcoord's options (flags, environment variables, bounds), on top of the host's. */
export const TXCOORD_OPTIONS = intOptions({
  defaultTimeoutMs: { flag: '--default-timeout-ms <ms>', env: 'PHARAOH_TX_DEFAULT_TIMEOUT_MS', description: 'transaction timeout when begin asks for none', default: DEFAULT_TX_TIMEOUT_MS, min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS },
  retentionMs: { flag: '--retention-ms <ms>', env: 'PHARAOH_TX_RETENTION_MS', description: 'how long decisions are remembered', default: DEFAULT_TX_RETENTION_MS, min: 1_000, max: 30 * DAY },
  maxOpen: { flag: '--max-open-tx <n>', env: 'PHARAOH_TX_MAX_OPEN', description: 'undecided transactions per shard before OVERLOADED', default: DEFAULT_MAX_OPEN_TX, min: 1, max: 10_000_000 },
  maxRemembered: { flag: '--max-remembered-tx <n>', env: 'PHARAOH_TX_MAX_REMEMBERED', description: 'remembered decisions per shard', default: DEFAULT_MAX_REMEMBERED_TX, min: 1, max: 100_000_000 },
  ...journalOptions('PHARAOH_TX'),
});

export type TxcoordOptions = ReturnType<typeof TXCOORD_OPTIONS.parse>;
/** What the table itself reads. */
export type TxTableOptions = Pick<TxcoordOptions, 'defaultTimeoutMs' | 'retentionMs' | 'maxOpen' | 'maxRemembered'>;

/** The one validating parser of txcoord options (`ServerOptions.app`): fills defaults, refuses nonsense (BAD_OPTIONS). */
export const parseTxcoordOptions = (app?: Record<string, unknown>): TxcoordOptions => TXCOORD_OPTIONS.parse(app);
