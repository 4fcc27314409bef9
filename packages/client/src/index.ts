export { PharaohClient, TsoApi, TxApi, SessionsApi, ServiceClient } from './client.js';
export type { FleetSource, KeyOptions, Session, CallOptions } from './client.js';
export { SchemasApi } from './schemas.js';
export type { SchemaFormat, SchemaRegistered, SchemaInfo, SchemaVersions, LatestSchema } from './schemas.js';
export { CdcApi, OffsetsApi } from './sequencer.js';
export type { CallArgs } from './router.js';
export { GroupsApi, GroupMember, subscription, parseAssignment } from './groups.js';
export type { JoinResult, SyncResult, CommittedOffset, GroupMemberRef, JoinOptions, OffsetCommit, MemberOptions } from './groups.js';
export { loadFleetFile, checkFleetFile, fleetClaims } from './fleet.js';
export type { FleetFile, FleetEndpoint, EndpointClaim } from './fleet.js';
export {
  DEFAULT_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_RECONNECT,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_SHARD_QUARANTINE_MS,
  DEFAULT_SILENCE_MS,
  DEFAULT_POLICY,
  parseClientOptions,
  backoffDelay,
} from './options.js';
export type { ClientOptions, ClientTlsOptions, ResolvedOptions, ReconnectOptions, Policy, Clock, Logger } from './options.js';
export { createWsTransport } from './transport.js';
export type { StatusEvent, StatusListener } from './status.js';
export type { Transport, TransportSocket, SocketHandlers } from './transport.js';
export {
  CLIENT_ERROR_CODES,
  PharaohError,
  ServerError,
  BadRequestError,
  UnknownOpError,
  NotOwnerError,
  ShardUnavailableError,
  OverloadedError,
  UnsupportedVersionError,
  ShuttingDownError,
  ForbiddenError,
  InternalServerError,
  TxNotFoundError,
  TxAbortedError,
  TxCommittedError,
  TxInDoubtError,
  TxNotInDoubtError,
  SessionFencedError,
  SessionExpiredError,
  SessionUnknownError,
  GroupRebalanceInProgressError,
  GroupIllegalGenerationError,
  GroupUnknownMemberError,
  GroupInconsistentProtocolError,
  GroupFullError,
  SchemaNotFoundError,
  SchemaLimitError,
  OffsetsStaleSeqError,
  TimeoutError,
  ClientClosedError,
  ConnectionLostError,
  ConnectError,
  FleetConflictError,
  FleetConfigError,
  InvalidArgumentError,
  ProtocolViolationError,
  fromWireError,
  isRetryable,
} from './errors.js';
export type { ClientErrorCode, PharaohErrorCode } from './errors.js';
