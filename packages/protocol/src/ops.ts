import { ERROR_CODES, ProtocolError } from './errors.js';
import { badField, intIn, readField, type FieldKind, type FieldKinds } from './fields.js';
import { MAX_OP_BYTES, MAX_REQUEST_ID, SUPPORTED_VERSIONS } from './limits.js';

/** One argument of an op: its name, its kind, and whether it may be left out (absent or nil). */
export type FieldSpec = readonly [name: string, kind: FieldKind, optional: boolean];

/**
 * Request arguments per operation (fields next to `id`, `op` and `v`), in the
 * order they are checked. Unknown fields are ignored; an optional field sent
 * as nil counts as absent.
 */
export const OP_FIELDS = {
  ping: [],
  'ts.get': [['shard', 'shard', false], ['count', 'count', false], ['after', 'id', true]],
  'tx.begin': [['shard', 'shard', false], ['timeoutMs', 'timeoutMs', true], ['after', 'id', true]],
  'tx.commit': [['txId', 'id', false]],
  'tx.abort': [['txId', 'id', false]],
  'tx.status': [['txId', 'id', false]],
  'tx.heartbeat': [['txId', 'id', false]],
  'session.open': [['shard', 'shard', false], ['producer', 'producer', true], ['timeoutMs', 'timeoutMs', true], ['after', 'id', true]],
  'session.heartbeat': [['sessionId', 'id', false], ['epoch', 'epoch', false]],
  'session.close': [['sessionId', 'id', false], ['epoch', 'epoch', false]],
  'session.validate': [['sessionId', 'id', false], ['epoch', 'epoch', false]],
  'admin.info': [],
} as const satisfies Record<string, readonly FieldSpec[]>;

export type OpName = keyof typeof OP_FIELDS;

type RequiredArgs<F extends readonly FieldSpec[]> = { [S in F[number] as S[2] extends false ? S[0] : never]: FieldKinds[S[1]] };
type OptionalArgs<F extends readonly FieldSpec[]> = { [S in F[number] as S[2] extends true ? S[0] : never]?: FieldKinds[S[1]] };
type Flat<T> = { [K in keyof T]: T[K] };
export type RequestArgs<O extends OpName> = Flat<RequiredArgs<(typeof OP_FIELDS)[O]> & OptionalArgs<(typeof OP_FIELDS)[O]>>;

/** IN_DOUBT: the shard was restored and the decision may postdate the backup (see ERROR_CODES.TX_IN_DOUBT). */
export type TxStatus = 'ACTIVE' | 'COMMITTED' | 'ABORTED' | 'UNKNOWN' | 'IN_DOUBT';
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
  /** Bytes of answers written but not yet taken by the network, over all connections. */
  bufferedBytes: number;
  /** The largest such amount on one connection (bounded by `limits.highWaterBytes` plus in-flight answers). */
  maxBufferedBytes: number;
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

/** Is `frame` a decoded msgpack map (not nil, an array, binary data or a scalar)? */
function isMap(frame: unknown): frame is Record<string, unknown> {
  return typeof frame === 'object' && frame !== null && !Array.isArray(frame) && !(frame instanceof Uint8Array) && Object.getPrototypeOf(frame) === Object.prototype;
}

/**
 * Check a decoded frame's envelope, in this order (the first failure is the
 * answer): a map; `id` an integer in 0..2^32−1 (else BAD_REQUEST, answered with
 * `id: nil`); `v` absent, nil or a supported integer (an integer not supported
 * → UNSUPPORTED_VERSION with `supported`; any other type → BAD_REQUEST);
 * `op` a string of 1..MAX_OP_BYTES bytes (else BAD_REQUEST).
 */
export function parseEnvelope(frame: unknown): RequestEnvelope {
  if (!isMap(frame)) throw new ProtocolError(ERROR_CODES.BAD_REQUEST, 'a request must be a msgpack map');
  const { op, v } = frame;
  const id = intIn(frame.id, 0, MAX_REQUEST_ID);
  if (id === undefined) throw badField('', 'id', `an integer in 0..${MAX_REQUEST_ID}`, frame.id);
  let version: number | undefined;
  if (v !== undefined && v !== null) {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw badField('', 'v', 'an integer (the protocol version)', v);
    if (typeof v === 'number' && !Number.isInteger(v)) throw badField('', 'v', 'an integer (the protocol version)', v);
    version = intIn(v, 0, Number.MAX_SAFE_INTEGER);
    if (version === undefined || !SUPPORTED_VERSIONS.includes(version)) {
      throw new ProtocolError(ERROR_CODES.UNSUPPORTED_VERSION, `protocol version ${String(v)} is not supported; this server speaks ${SUPPORTED_VERSIONS.join(', ')}`, {
        supported: [...SUPPORTED_VERSIONS],
      });
    }
  }
  // A UTF-16 code unit takes at most 3 bytes of UTF-8: short names need no byte count.
  if (typeof op !== 'string' || op.length === 0 || op.length > MAX_OP_BYTES || (op.length * 3 > MAX_OP_BYTES && Buffer.byteLength(op, 'utf8') > MAX_OP_BYTES)) {
    throw badField('', 'op', `a string of 1..${MAX_OP_BYTES} bytes (an operation name)`, op);
  }
  return version === undefined ? { id, op, frame } : { id, op, v: version, frame };
}

/** Is `op` a known operation of `service`? */
export function isServiceOp(service: ServiceName, op: string): op is OpName {
  return (SERVICE_OPS[service] as readonly string[]).includes(op);
}

/** Validate the arguments of a known op. Throws ProtocolError BAD_REQUEST naming the field. */
export function parseArgs<O extends OpName>(op: O, frame: Record<string, unknown>): RequestArgs<O> {
  const specs: readonly FieldSpec[] = OP_FIELDS[op];
  const args: Record<string, unknown> = {};
  for (let i = 0; i < specs.length; i++) {
    const [name, kind, optional] = specs[i]!;
    const raw = frame[name];
    if (raw === undefined || raw === null) {
      if (!optional) throw badField(`${op}: `, name, kind, raw);
      continue;
    }
    args[name] = readField(`${op}: `, name, kind, raw);
  }
  return args as RequestArgs<O>;
}
