import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import { SERVER_ERROR_CODES, ServerError, intOptions, journalOptions } from '@pharaoh/server';

/** Per shard. Joins that would create more groups answer OVERLOADED (a group is a few hundred bytes plus its members and offsets). */
export const DEFAULT_MAX_GROUPS = 10_000;
/** Per group. A join that would add more members answers GROUP_FULL (Kafka's group.max.size is unbounded by default; 1,000 consumers is far more than partitions usually allow). */
export const DEFAULT_MAX_MEMBERS = 1_000;
/** Per commit request. More answers BAD_REQUEST; the wire allows at most MAX_OFFSETS_PER_COMMIT_WIRE. */
export const DEFAULT_MAX_OFFSETS_PER_COMMIT = 1_000;
/** Per group: committed partitions kept. A commit that would add more answers GROUP_FULL (bounds a shard's memory and snapshot). */
export const DEFAULT_MAX_OFFSETS_PER_GROUP = 100_000;
/** A protocol's metadata (a member's subscription) beyond this answers BAD_REQUEST; the wire allows 64 KiB. */
export const DEFAULT_MAX_METADATA_BYTES = 16_384;
/** One member's assignment beyond this answers BAD_REQUEST (the leader's, or a built-in one it would compute). */
export const DEFAULT_MAX_ASSIGNMENT_BYTES = 65_536;
/** An offset's metadata string beyond this (UTF-8 bytes) answers BAD_REQUEST (Kafka's offset.metadata.max.bytes is 4096). */
export const DEFAULT_MAX_OFFSET_METADATA_BYTES = 4_096;
/** Smallest session timeout a join may ask for: a shorter one expires members between two sweeps. */
export const DEFAULT_MIN_SESSION_TIMEOUT_MS = 1_000;
/** Largest session timeout (Kafka's group.max.session.timeout.ms is 30 min; 5 min keeps a dead member from stalling its group long). */
export const DEFAULT_MAX_SESSION_TIMEOUT_MS = 300_000;
/** Largest rebalance timeout a join may ask for (Kafka's max.poll.interval.ms default). */
export const DEFAULT_MAX_REBALANCE_TIMEOUT_MS = 300_000;
/**
 * How long one `group.join` or `group.sync` call waits for the rebalance (or
 * the leader's assignment) before it answers `status: 'PENDING'` (the member
 * calls again; it stays in the rebalance). Why 1.5 s: the client drops a
 * connection whose server sent nothing for its silence time (2 s by default,
 * at most half its call timeout, 5 s by default) while a call is in flight,
 * so a long poll must answer well within both.
 */
export const DEFAULT_JOIN_WAIT_MS = 1_500;
/** An empty group (no members) with no commit for this long is forgotten with its offsets (Kafka's offsets.retention.minutes: 7 days). */
export const DEFAULT_GROUP_RETENTION_MS = 7 * 86_400_000;

const DAY = 86_400_000;

/** group-coord's options (flags, environment variables, bounds), on top of the host's. */
const GROUP_OPTION_TABLE = intOptions({
  maxGroups: { flag: '--max-groups <n>', env: 'PHARAOH_GROUP_MAX_GROUPS', description: 'groups per shard before OVERLOADED', default: DEFAULT_MAX_GROUPS, min: 1, max: 10_000_000 },
  maxMembers: { flag: '--max-members-per-group <n>', env: 'PHARAOH_GROUP_MAX_MEMBERS', description: 'members per group before GROUP_FULL', default: DEFAULT_MAX_MEMBERS, min: 1, max: 100_000 },
  maxOffsetsPerCommit: { flag: '--max-offsets-per-commit <n>', env: 'PHARAOH_GROUP_MAX_OFFSETS_PER_COMMIT', description: 'offsets in one group.commitOffsets', default: DEFAULT_MAX_OFFSETS_PER_COMMIT, min: 1, max: 10_000 },
  maxOffsetsPerGroup: { flag: '--max-offsets-per-group <n>', env: 'PHARAOH_GROUP_MAX_OFFSETS_PER_GROUP', description: 'committed partitions kept per group before GROUP_FULL', default: DEFAULT_MAX_OFFSETS_PER_GROUP, min: 1, max: 10_000_000 },
  maxMetadataBytes: { flag: '--max-metadata-bytes <n>', env: 'PHARAOH_GROUP_MAX_METADATA_BYTES', description: "bytes of one protocol's metadata in group.join", default: DEFAULT_MAX_METADATA_BYTES, min: 0, max: 65_536 },
  maxAssignmentBytes: { flag: '--max-assignment-bytes <n>', env: 'PHARAOH_GROUP_MAX_ASSIGNMENT_BYTES', description: "bytes of one member's assignment", default: DEFAULT_MAX_ASSIGNMENT_BYTES, min: 0, max: 65_536 },
  maxOffsetMetadataBytes: { flag: '--max-offset-metadata-bytes <n>', env: 'PHARAOH_GROUP_MAX_OFFSET_METADATA_BYTES', description: "bytes of one offset's metadata", default: DEFAULT_MAX_OFFSET_METADATA_BYTES, min: 1, max: 65_536 },
  minSessionTimeoutMs: { flag: '--min-session-timeout-ms <ms>', env: 'PHARAOH_GROUP_MIN_SESSION_TIMEOUT_MS', description: 'smallest sessionTimeoutMs of a join', default: DEFAULT_MIN_SESSION_TIMEOUT_MS, min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS },
  maxSessionTimeoutMs: { flag: '--max-session-timeout-ms <ms>', env: 'PHARAOH_GROUP_MAX_SESSION_TIMEOUT_MS', description: 'largest sessionTimeoutMs of a join', default: DEFAULT_MAX_SESSION_TIMEOUT_MS, min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS },
  maxRebalanceTimeoutMs: { flag: '--max-rebalance-timeout-ms <ms>', env: 'PHARAOH_GROUP_MAX_REBALANCE_TIMEOUT_MS', description: 'largest rebalanceTimeoutMs of a join', default: DEFAULT_MAX_REBALANCE_TIMEOUT_MS, min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS },
  joinWaitMs: { flag: '--join-wait-ms <ms>', env: 'PHARAOH_GROUP_JOIN_WAIT_MS', description: 'longest wait of one join/sync call before it answers PENDING', default: DEFAULT_JOIN_WAIT_MS, min: 0, max: 60_000 },
  retentionMs: { flag: '--group-retention-ms <ms>', env: 'PHARAOH_GROUP_RETENTION_MS', description: 'how long an empty group and its offsets are kept', default: DEFAULT_GROUP_RETENTION_MS, min: 1_000, max: 365 * DAY },
  ...journalOptions('PHARAOH_GROUP'),
});

export type GroupCoordOptions = ReturnType<typeof GROUP_OPTION_TABLE.parse>;
/** What the table itself reads. */
export type GroupTableOptions = Omit<GroupCoordOptions, 'sweepIntervalMs' | 'compactAtBytes'>;

/** The one validating parser of group-coord options (`ServerOptions.app`): fills defaults, refuses nonsense (BAD_OPTIONS). */
export function parseGroupOptions(app?: Record<string, unknown>): GroupCoordOptions {
  const o = GROUP_OPTION_TABLE.parse(app);
  if (o.minSessionTimeoutMs > o.maxSessionTimeoutMs) {
    throw new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, `minSessionTimeoutMs (${o.minSessionTimeoutMs}) must not exceed maxSessionTimeoutMs (${o.maxSessionTimeoutMs})`);
  }
  return o;
}

/** group-coord's option table: the flags of `pharaoh serve group-coord` and the one parser. */
export const GROUP_OPTIONS = { cli: GROUP_OPTION_TABLE.cli, parse: parseGroupOptions };
