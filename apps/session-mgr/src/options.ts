import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import { SESSION_ERROR_CODES, SessionMgrError } from './errors.js';

/** A session that asks for no timeout expires after 30 s without heartbeats (a few missed heartbeats at a 5-10 s interval). */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
/**
 * A closed or expired session is remembered for 7 days (Kafka keeps producer
 * ids as long): a producer reopening within that time keeps its sessionId and
 * moves to a higher epoch; old epochs answer FENCED rather than UNKNOWN.
 */
export const DEFAULT_SESSION_RETENTION_MS = 7 * 86_400_000;
/** Per shard. Opens that would exceed this many live sessions answer OVERLOADED. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Per shard. Beyond this many closed/expired sessions the oldest are forgotten early. */
export const DEFAULT_MAX_ENDED_SESSIONS = 100_000;
/** How often the timer expires silent sessions and forgets ended ones past retention. */
export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;
/** The journal is compacted (rewritten as the live state) when it reaches this size. */
export const DEFAULT_COMPACT_AT_BYTES = 16 * 1024 * 1024;

export interface SessionTableOptions {
  /** Timeout of a session that does not ask for one (ms). */
  defaultTimeoutMs: number;
  /** How long a closed/expired session is remembered (ms). */
  retentionMs: number;
  /** Most live (open, not expired) sessions per shard. */
  maxSessions: number;
  /** Most remembered closed/expired sessions per shard. */
  maxEnded: number;
}

export interface SessionMgrOptions extends SessionTableOptions {
  sweepIntervalMs: number;
  compactAtBytes: number;
}

/** The command-line flags (and environment variables) of session-mgr, on top of the host's. */
export const SESSION_CLI_OPTIONS = [
  { flags: '--default-timeout-ms <ms>', env: 'PHARAOH_SESSION_DEFAULT_TIMEOUT_MS', description: `session timeout when open asks for none (default ${DEFAULT_SESSION_TIMEOUT_MS})` },
  { flags: '--retention-ms <ms>', env: 'PHARAOH_SESSION_RETENTION_MS', description: `how long closed/expired sessions are remembered (default ${DEFAULT_SESSION_RETENTION_MS})` },
  { flags: '--max-sessions <n>', env: 'PHARAOH_SESSION_MAX_LIVE', description: `live sessions per shard before OVERLOADED (default ${DEFAULT_MAX_SESSIONS})` },
  { flags: '--max-ended-sessions <n>', env: 'PHARAOH_SESSION_MAX_ENDED', description: `remembered closed/expired sessions per shard (default ${DEFAULT_MAX_ENDED_SESSIONS})` },
  { flags: '--sweep-interval-ms <ms>', env: 'PHARAOH_SESSION_SWEEP_INTERVAL_MS', description: `expiry sweep period (default ${DEFAULT_SWEEP_INTERVAL_MS})` },
  { flags: '--compact-at-bytes <n>', env: 'PHARAOH_SESSION_COMPACT_AT_BYTES', description: `journal size that triggers compaction (default ${DEFAULT_COMPACT_AT_BYTES})` },
];

/** Read one integer option: a number from code or a decimal string from the command line. */
export function intOption(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new SessionMgrError(SESSION_ERROR_CODES.BAD_OPTIONS, `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return n;
}

/** The one validating parser of session-mgr options (`ServerOptions.app`): fills defaults, refuses nonsense. */
export function parseSessionOptions(app: Record<string, unknown> = {}): SessionMgrOptions {
  const DAY = 86_400_000;
  return {
    defaultTimeoutMs: intOption('defaultTimeoutMs', app['defaultTimeoutMs'], DEFAULT_SESSION_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
    retentionMs: intOption('retentionMs', app['retentionMs'], DEFAULT_SESSION_RETENTION_MS, 1_000, 365 * DAY),
    maxSessions: intOption('maxSessions', app['maxSessions'], DEFAULT_MAX_SESSIONS, 1, 10_000_000),
    maxEnded: intOption('maxEndedSessions', app['maxEndedSessions'], DEFAULT_MAX_ENDED_SESSIONS, 1, 100_000_000),
    sweepIntervalMs: intOption('sweepIntervalMs', app['sweepIntervalMs'], DEFAULT_SWEEP_INTERVAL_MS, 10, 60_000),
    compactAtBytes: intOption('compactAtBytes', app['compactAtBytes'], DEFAULT_COMPACT_AT_BYTES, 4096, 2 ** 40),
  };
}
