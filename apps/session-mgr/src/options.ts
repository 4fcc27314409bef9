import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import { intOptions, journalOptions } from '@pharaoh/server';

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

const DAY = 86_400_000;

/** session-mgr's options (flags, environment variables, bounds), on top of the host's. */
export const SESSION_OPTIONS = intOptions({
  defaultTimeoutMs: { flag: '--default-timeout-ms <ms>', env: 'PHARAOH_SESSION_DEFAULT_TIMEOUT_MS', description: 'session timeout when open asks for none', default: DEFAULT_SESSION_TIMEOUT_MS, min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS },
  retentionMs: { flag: '--retention-ms <ms>', env: 'PHARAOH_SESSION_RETENTION_MS', description: 'how long closed/expired sessions are remembered', default: DEFAULT_SESSION_RETENTION_MS, min: 1_000, max: 365 * DAY },
  maxSessions: { flag: '--max-sessions <n>', env: 'PHARAOH_SESSION_MAX_LIVE', description: 'live sessions per shard before OVERLOADED', default: DEFAULT_MAX_SESSIONS, min: 1, max: 10_000_000 },
  maxEnded: { flag: '--max-ended-sessions <n>', env: 'PHARAOH_SESSION_MAX_ENDED', description: 'remembered closed/expired sessions per shard', default: DEFAULT_MAX_ENDED_SESSIONS, min: 1, max: 100_000_000 },
  ...journalOptions('PHARAOH_SESSION'),
});

export type SessionMgrOptions = ReturnType<typeof SESSION_OPTIONS.parse>;
/** What the table itself reads. */
export type SessionTableOptions = Pick<SessionMgrOptions, 'defaultTimeoutMs' | 'retentionMs' | 'maxSessions' | 'maxEnded'>;

/** The one validating parser of session-mgr options (`ServerOptions.app`): fills defaults, refuses nonsense (BAD_OPTIONS). */
export const parseSessionOptions = (app?: Record<string, unknown>): SessionMgrOptions => SESSION_OPTIONS.parse(app);
