export { encodeFrame, encodeOkFrame, encodeRangeFrame, decodeFrame, readTsGetFrame } from './codec.js';
export type { TsGetRequest } from './codec.js';
export { WireFloat, MAX_DEPTH } from './msgpack/decode.js';
export { describeValue, expectation } from './fields.js';
export type { FieldKind, FieldKinds, FieldValue, ScalarKind, ListKind, ArgsOfFields } from './fields.js';
export { ERROR_CODES, ProtocolError, FrameError, isErrorCode } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export {
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  SHARD_COUNT,
  MAX_SHARD,
  MAX_REQUEST_ID,
  MAX_PRODUCER_NAME_BYTES,
  MAX_NAME_BYTES,
  MAX_TEXT_BYTES,
  MAX_BINARY_BYTES,
  MAX_OP_BYTES,
  MAX_COUNT,
  MAX_EPOCH,
  MIN_TIMEOUT_MS,
  MAX_TIMEOUT_MS,
  CLOSE_CODES,
} from './limits.js';
export { parseEnvelope, parseArgs, readResult, isAdminOp, isHostOp, HOST_OPS, ADMIN_OPS, SHARD_MOVE_OPS, ROLES } from './ops.js';
export type { OpSpec, ResultKind, ResultSpec, ArgsOf, ResultOf, ResultOfSpec, FieldSpec, RequestEnvelope, AdminInfo, Role, HostOp } from './ops.js';
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
