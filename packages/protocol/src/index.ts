export { encodeFrame, decodeFrame } from './codec.js';
export { ERROR_CODES, ProtocolError, FrameError, isErrorCode } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export {
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  SHARD_COUNT,
  MAX_SHARD,
  MAX_REQUEST_ID,
  MAX_PRODUCER_NAME_LENGTH,
  MIN_TIMEOUT_MS,
  MAX_TIMEOUT_MS,
  CLOSE_CODES,
} from './limits.js';
export {
  REQUEST_SCHEMAS,
  SERVICES,
  SERVICE_OPS,
  wireId,
  parseEnvelope,
  parseArgs,
  isServiceOp,
  isAdminOp,
  ADMIN_OPS,
  ROLES,
} from './ops.js';
export type {
  OpName,
  RequestArgs,
  OpResults,
  TxStatus,
  SessionStatus,
  ServiceName,
  RequestEnvelope,
  AdminInfo,
  Role,
} from './ops.js';
export { okFrame, errFrame } from './frames.js';
export type { HelloFrame, OkFrame, ErrFrame, ResponseFrame, ServerFrame, WireLayout, WireLimits } from './frames.js';
export {
  parseShardRanges,
  expandShardRanges,
  toShardRanges,
  formatShardRanges,
  keyHash,
  shardForKey,
} from './shards.js';
export type { ShardRanges } from './shards.js';
