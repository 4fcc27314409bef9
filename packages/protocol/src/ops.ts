import { ERROR_CODES, ProtocolError } from './errors.js';
import { badField, describeValue, intIn, isMap, readFields, type ArgsOfFields, type FieldSpec } from './fields.js';
import { MAX_OP_BYTES, MAX_REQUEST_ID, SUPPORTED_VERSIONS } from './limits.js';

export type { FieldSpec } from './fields.js';

/**
 * What one operation is on the wire: its request fields (next to `id`, `op`
 * and `v`, in the order they are checked), the fields of its answer, how a
 * request finds its shard, and how many IDs an answer issues. Services list
 * their ops as data in the service registry (`@pharaoh/registry`); the server
 * checks requests, the client types its calls and checks answers, and the
 * docs list ops, all from these specs. Unknown request fields are ignored; an
 * optional field sent as nil counts as absent.
 */
export interface OpSpec {
  readonly fields: readonly FieldSpec[];
  readonly result: ResultSpec;
  /**
   * `shard`: the request names its shard (`shard` field): a fresh ID, which
   * the client routes by key or policy and may fail over. `{ id }`: the shard
   * is encoded in that ID field's bits (a request about an existing ID).
   */
  readonly route: 'shard' | { readonly id: string };
  /** IDs a successful answer issued (for metrics): a constant, or the result field holding the count. */
  readonly issues: number | string;
  /** Only an `admin` token may call it (FORBIDDEN for a `client` token), like `admin.info`. */
  readonly admin?: boolean;
}

/**
 * Kinds of answer fields: `id` (uint64 → bigint), `uint` (a non-negative
 * safe integer), `string`, `bytes` (msgpack bin → Uint8Array), `bool`, one of
 * some strings (an array of them), or `{ list: spec }` (an array of maps, each
 * checked with `spec`).
 */
export type ResultKind = 'id' | 'uint' | 'string' | 'bytes' | 'bool' | readonly string[] | { readonly list: ResultSpec };
export type ResultSpec = Readonly<{ [field: string]: ResultKind }>;

/** The checked arguments of an op, typed from its field specs. */
export type ArgsOf<O extends OpSpec> = ArgsOfFields<O['fields']>;
type ResultValue<K> = K extends 'id'
  ? bigint
  : K extends 'uint'
    ? number
    : K extends 'string'
      ? string
      : K extends 'bytes'
        ? Uint8Array
        : K extends 'bool'
          ? boolean
          : K extends readonly string[]
            ? K[number]
            : K extends { readonly list: infer R extends ResultSpec }
              ? Array<ResultOfSpec<R>>
              : never;
/** The values of an answer map checked with `R`. */
export type ResultOfSpec<R extends ResultSpec> = { -readonly [K in keyof R]: ResultValue<R[K]> };
/** The answer of an op, typed from its result spec. */
export type ResultOf<O extends OpSpec> = ResultOfSpec<O['result']>;

/** What `admin.info` answers: the state of the process, for operators (admin role only). */
export interface AdminInfo {
  service: string;
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

/**
 * Ops every service answers, served by the host itself (not by a service's
 * handlers): `ping` → `{ now }`, and `admin.info` (admin role only) → AdminInfo.
 */
export const HOST_OPS = ['ping', 'admin.info'] as const;
export type HostOp = (typeof HOST_OPS)[number];

/**
 * The host's admin ops of an online shard move (docs/OPERATIONS.md, "Moving
 * shards"): the source drains, closes and releases shards, the target claims
 * and opens them, then the source forwards callers to the target (NOT_OWNER
 * with `movedTo`). Admin role only; not in HOST_OPS (they change what a
 * process hosts, so the fuzzers and conformance vectors leave them out).
 */
export const SHARD_MOVE_OPS = ['admin.shards.release', 'admin.shards.claim', 'admin.shards.forward'] as const;

/** Operations only an `admin` token may call (FORBIDDEN for a `client` token). */
export const ADMIN_OPS: readonly string[] = ['admin.info', ...SHARD_MOVE_OPS];

/** Is `op` reserved to the admin role? */
export function isAdminOp(op: string): boolean {
  return ADMIN_OPS.includes(op);
}

/** Is `op` one the host answers for every service? */
export function isHostOp(op: string): op is HostOp {
  return (HOST_OPS as readonly string[]).includes(op);
}

/** The envelope of every request frame. */
export interface RequestEnvelope {
  id: number;
  op: string;
  v?: number;
  frame: Record<string, unknown>;
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

/** Validate the arguments of `op` against its spec. Throws ProtocolError BAD_REQUEST naming the field. */
export function parseArgs<O extends OpSpec>(op: string, spec: O, frame: Record<string, unknown>): ArgsOf<O> {
  return readFields(`${op}: `, '', spec.fields, frame) as ArgsOf<O>;
}

/**
 * Check an answer's `ok` map against the op's result spec (what the client
 * does with every answer): every field present with its kind, IDs as bigint
 * whatever their encoding. Throws a TypeError naming the field otherwise;
 * extra fields are dropped.
 */
export function readResult<O extends OpSpec>(op: string, spec: O, ok: unknown): ResultOf<O> {
  if (!isMap(ok)) throw new TypeError(`${op}: the answer is not a map`);
  return readResultFields(op, '', spec.result, ok) as ResultOf<O>;
}

function readResultFields(op: string, prefix: string, spec: ResultSpec, ok: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in spec) {
    const kind = spec[name]!;
    const v = ok[name];
    const bad = (what: string) => new TypeError(`${op}: answer field ${prefix}${name} must be ${what}, got ${describeValue(v)}`);
    if (kind === 'id') {
      if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) out[name] = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out[name] = BigInt(v);
      else throw bad('an unsigned 64-bit integer');
    } else if (kind === 'uint') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad('a non-negative integer');
      out[name] = v;
    } else if (kind === 'string') {
      if (typeof v !== 'string') throw bad('a string');
      out[name] = v;
    } else if (kind === 'bytes') {
      if (!(v instanceof Uint8Array)) throw bad('binary data');
      out[name] = v;
    } else if (kind === 'bool') {
      if (typeof v !== 'boolean') throw bad('a boolean');
      out[name] = v;
    } else if (Array.isArray(kind)) {
      if (typeof v !== 'string' || !kind.includes(v)) throw bad(`one of ${kind.join(', ')}`);
      out[name] = v;
    } else {
      const item = (kind as { readonly list: ResultSpec }).list;
      if (!Array.isArray(v)) throw bad('an array of maps');
      out[name] = v.map((x: unknown, i) => {
        if (!isMap(x)) throw new TypeError(`${op}: answer field ${prefix}${name}[${i}] must be a map, got ${describeValue(x)}`);
        return readResultFields(op, `${prefix}${name}[${i}].`, item, x);
      });
    }
  }
  return out;
}
