import { z } from 'zod';
import { ERROR_CODES, ProtocolError } from './errors.js';
import {
  MAX_PRODUCER_NAME_LENGTH,
  MAX_REQUEST_ID,
  MAX_SHARD,
  MAX_TIMEOUT_MS,
  MIN_TIMEOUT_MS,
  SUPPORTED_VERSIONS,
} from './limits.js';

const MAX_U64 = (1n << 64n) - 1n;

/**
 * A 64-bit ID on the wire: any msgpack integer. Our encoder sends bigints
 * (int64/uint64 encodings); clients in other languages may send a smaller
 * integer encoding for small values, which we accept when it is exact.
 */
export const wireId = z
  .union([
    z.bigint().min(0n).max(MAX_U64),
    z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((v) => BigInt(v));

const shard = z.number().int().min(0).max(MAX_SHARD);
const count = z.number().int().min(1).max(0x7fff_ffff);
const timeoutMs = z.number().int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS);
const epoch = z.number().int().min(0).max(0x7fff_ffff);
const producer = z.string().min(1).max(MAX_PRODUCER_NAME_LENGTH);

/** Request arguments per operation (fields next to `id`, `op` and `v`). Unknown fields are ignored. */
export const REQUEST_SCHEMAS = {
  ping: z.object({}),
  'ts.get': z.object({ shard, count, after: wireId.optional() }),
  'tx.begin': z.object({ shard, timeoutMs: timeoutMs.optional(), after: wireId.optional() }),
  'tx.commit': z.object({ txId: wireId }),
  'tx.abort': z.object({ txId: wireId }),
  'tx.status': z.object({ txId: wireId }),
  'tx.heartbeat': z.object({ txId: wireId }),
  'session.open': z.object({ shard, producer: producer.optional(), timeoutMs: timeoutMs.optional(), after: wireId.optional() }),
  'session.heartbeat': z.object({ sessionId: wireId, epoch }),
  'session.close': z.object({ sessionId: wireId, epoch }),
  'session.validate': z.object({ sessionId: wireId, epoch }),
  'admin.info': z.object({}),
} as const;

export type OpName = keyof typeof REQUEST_SCHEMAS;
export type RequestArgs<O extends OpName> = z.output<(typeof REQUEST_SCHEMAS)[O]>;

export type TxStatus = 'ACTIVE' | 'COMMITTED' | 'ABORTED' | 'UNKNOWN';
export type SessionStatus = 'OK' | 'FENCED' | 'EXPIRED' | 'UNKNOWN';

/** What a successful response's `ok` field holds, per operation. */
export interface OpResults {
  ping: { now: number };
  'ts.get': { first: bigint; count: number };
  'tx.begin': { txId: bigint; startTs: bigint; timeoutMs: number };
  'tx.commit': { commitTs: bigint };
  'tx.abort': Record<string, never>;
  'tx.status': { status: TxStatus };
  'tx.heartbeat': { timeoutMs: number };
  'session.open': { sessionId: bigint; epoch: number; timeoutMs: number };
  'session.heartbeat': { timeoutMs: number };
  'session.close': Record<string, never>;
  'session.validate': { status: SessionStatus };
  'admin.info': AdminInfo;
}

/** What `admin.info` answers: the state of the process, for operators (admin role only). */
export interface AdminInfo {
  service: ServiceName;
  /** Free-form server identification, as in `hello.server`. */
  server: string;
  pid: number;
  /** ms since the process started serving. */
  uptimeMs: number;
  shards: Array<[number, number]>;
  /** Hosted shards that do not serve (failed or closing). */
  unavailable: number[];
  connections: number;
  /** Requests awaiting an async answer, over all connections. */
  inFlight: number;
  /** Limits in force (the hello's, plus the host-only ones). */
  limits: Record<string, number>;
  tls: boolean;
  auth: boolean;
}

/** Roles a bearer token can carry. `admin` may do everything `client` may, plus the admin-only ops. */
export type Role = 'client' | 'admin';
export const ROLES: readonly Role[] = ['client', 'admin'];

/** Operations only an `admin` token may call (FORBIDDEN for a `client` token). */
export const ADMIN_OPS: readonly OpName[] = ['admin.info'];

/** Is `op` reserved to the admin role? */
export function isAdminOp(op: string): boolean {
  return (ADMIN_OPS as readonly string[]).includes(op);
}

export type ServiceName = 'tso' | 'txcoord' | 'session-mgr';
export const SERVICES: readonly ServiceName[] = ['tso', 'txcoord', 'session-mgr'];

/** The operations each service answers; anything else is UNKNOWN_OP. */
export const SERVICE_OPS: Record<ServiceName, readonly OpName[]> = {
  tso: ['ping', 'ts.get', 'admin.info'],
  txcoord: ['ping', 'tx.begin', 'tx.commit', 'tx.abort', 'tx.status', 'tx.heartbeat', 'admin.info'],
  'session-mgr': ['ping', 'session.open', 'session.heartbeat', 'session.close', 'session.validate', 'admin.info'],
};

/** The envelope of every request frame. */
export interface RequestEnvelope {
  id: number;
  op: string;
  v?: number;
  frame: Record<string, unknown>;
}

/**
 * Check a decoded frame's envelope. Throws ProtocolError BAD_REQUEST when it is
 * not a map with a uint32 `id` and a string `op` (then `id` in the error frame is
 * whatever could be read, or null), UNSUPPORTED_VERSION for an unknown `v`.
 */
export function parseEnvelope(frame: unknown): RequestEnvelope {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || frame instanceof Uint8Array) {
    throw new ProtocolError(ERROR_CODES.BAD_REQUEST, 'a request must be a msgpack map');
  }
  const f = frame as Record<string, unknown>;
  const { id, op, v } = f;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_REQUEST_ID) {
    throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `id must be an integer in 0..${MAX_REQUEST_ID}`, { field: 'id' });
  }
  if (typeof op !== 'string' || op.length === 0 || op.length > 64) {
    throw new ProtocolError(ERROR_CODES.BAD_REQUEST, 'op must be a non-empty string of at most 64 characters', { field: 'op' });
  }
  if (v !== undefined && (typeof v !== 'number' || !SUPPORTED_VERSIONS.includes(v))) {
    throw new ProtocolError(ERROR_CODES.UNSUPPORTED_VERSION, `protocol version ${String(v)} is not supported`, {
      supported: [...SUPPORTED_VERSIONS],
    });
  }
  return v === undefined ? { id, op, frame: f } : { id, op, v, frame: f };
}

/** Is `op` a known operation of `service`? */
export function isServiceOp(service: ServiceName, op: string): op is OpName {
  return (SERVICE_OPS[service] as readonly string[]).includes(op);
}

/** Validate the arguments of a known op. Throws ProtocolError BAD_REQUEST naming the field. */
export function parseArgs<O extends OpName>(op: O, frame: Record<string, unknown>): RequestArgs<O> {
  const result = REQUEST_SCHEMAS[op].safeParse(frame);
  if (result.success) return result.data as RequestArgs<O>;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(frame)';
  throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: ${field}: ${issue?.message ?? 'invalid'}`, { field });
}
