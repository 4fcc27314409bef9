/** @pharaoh/session-mgr: the Session Manager (idempotent producers, journaled epochs and fencing). */
export { sessionService } from './service.js';
export type { SessionShard } from './service.js';
export { SessionTable } from './session-table.js';
export { MAX_EPOCH, MAX_EPOCH_LEAD_S, SessionEpochs, epochFloorAfter } from './epochs.js';
export type { EpochLayout, EpochRestore } from './epochs.js';
export type { SessionIdSource, SessionJournal, SessionJournalHooks, SessionTableDeps } from './session-table.js';
export type { Session, SessionState } from './session-state.js';
export {
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_SESSION_RETENTION_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_ENDED_SESSIONS,
  SESSION_OPTIONS,
  parseSessionOptions,
} from './options.js';
export type { SessionTableOptions, SessionMgrOptions } from './options.js';
export { parseSessionRecord } from './records.js';
export type { SessionRecord, OpenRecord, EndRecord, RetireRecord } from './records.js';
/** The journal options every journaled service shares (the kit's defaults). */
export { DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_COMPACT_AT_BYTES } from '@pharaoh/server';
