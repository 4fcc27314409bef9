/**
 * @pharaoh/server: the shard host runtime shared by the Pharaoh apps. An app
 * describes its service (layout, per-shard state, op handlers); the host owns
 * shard directories, locks, generators, the WebSocket protocol, limits,
 * metrics, logs and graceful shutdown.
 */
export { startServer } from './server.js';
export { runServiceMain, parseServiceArgs, buildCommand } from './main.js';
export type { ParsedServiceArgs } from './main.js';
export {
  resolveServerOptions,
  DEFAULT_LIMITS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_COUNT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_OPEN_CONCURRENCY,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_LOG_LEVEL,
} from './options.js';
export type { ServerLimits, ResolvedServerOptions, Clock, TlsOptions, AuthOptions } from './options.js';
export { TokenStore, parseTokenLines, isLoopbackHost, MIN_TOKEN_LENGTH } from './auth.js';
export type { TokenEntry, AuthResult, AuthFailure } from './auth.js';
export { ServerError, SERVER_ERROR_CODES } from './errors.js';
export type { ServerErrorCode } from './errors.js';
export { IDENTITY_FILE, LOCK_FILE, IDENTITY_FORMAT, RESTORE_FORMAT, BOUND_COUNTER as SHARD_BOUND_FILE, shardDir } from './shard-dir.js';
export type { RestoreMark, ShardIdentity } from './shard-dir.js';
export { BOUND_COUNTER } from './shards.js';
export { TimeEpochs, MAX_EPOCH_LEAD_S, secondsSince, epochFloorAfter } from './epochs.js';
export { SERVER_NAME, toWireLayout } from './hello.js';
export {
  defineJournaledService,
  intOptions,
  journalOptions,
  records,
  DEFAULT_SWEEP_INTERVAL_MS,
  DEFAULT_COMPACT_AT_BYTES,
} from './journaled.js';
export type { IntOption, OptionTable, JournaledOptions, JournalHooks, TableJournal, JournaledTable, JournaledShard } from './journaled.js';
export type {
  ServiceDefinition,
  HostedService,
  Handlers,
  OpHandler,
  ShardContext,
  ShardHandle,
  ServerOptions,
  MetricsOptions,
  ShardStats,
  RunningServer,
  StartSummary,
  CliOption,
  Logger,
} from './types.js';
