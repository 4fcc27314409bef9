/** @pharaoh/group-coord: the consumer-group coordinator (membership, generations, assignments, committed offsets; journaled). */
export { groupService } from './service.js';
export type { GroupShard } from './service.js';
export { GroupTable } from './group-table.js';
export type { GroupJournal, GroupJournalHooks, GroupTableDeps, JoinArgs, JoinAnswer, SyncAnswer, OffsetArg } from './group-table.js';
export type { Group, GroupPhase, Member, Protocol, CommittedOffset } from './group-state.js';
export { BUILTIN_PROTOCOLS, MAX_SUBSCRIBED_PARTITIONS, isBuiltin, rangeAssign, roundRobinAssign, stickyAssign } from './assignors.js';
export type { BuiltinProtocol } from './assignors.js';
export {
  DEFAULT_MAX_GROUPS,
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_OFFSETS_PER_COMMIT,
  DEFAULT_MAX_OFFSETS_PER_GROUP,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_MAX_ASSIGNMENT_BYTES,
  DEFAULT_MAX_OFFSET_METADATA_BYTES,
  DEFAULT_MIN_SESSION_TIMEOUT_MS,
  DEFAULT_MAX_SESSION_TIMEOUT_MS,
  DEFAULT_MAX_REBALANCE_TIMEOUT_MS,
  DEFAULT_JOIN_WAIT_MS,
  DEFAULT_GROUP_RETENTION_MS,
  GROUP_OPTIONS,
  parseGroupOptions,
} from './options.js';
export type { GroupCoordOptions, GroupTableOptions } from './options.js';
export { parseGroupRecord } from './records.js';
export type { GroupRecord, GenerationRecord, AssignRecord, LeaveRecord, OffsetsRecord, DeleteRecord } from './records.js';
/** The journal options every journaled service shares (the kit's defaults). */
export { DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_COMPACT_AT_BYTES } from '@pharaoh/server';
