import { performance } from 'node:perf_hooks';
import {
  ERROR_CODES,
  ProtocolError,
  encodeFrame,
  encodeOkFrame,
  encodeRangeFrame,
  errFrame,
  isAdminOp,
  SHARD_MOVE_OPS,
  isErrorCode,
  isHostOp,
  parseArgs,
  parseEnvelope,
} from '@pharaoh/protocol';
import type { AdminInfo, ErrorCode, ErrorDetails, OpSpec, Role, ShardRanges, TsGetRequest } from '@pharaoh/protocol';
import { errorKind } from '@pharaoh/storage';
import type { Logger } from 'pino';
import type { ServerMetrics } from './metrics.js';
import type { ResolvedServerOptions } from './options.js';
import type { HostedShard } from './shards.js';
import type { HostedService, OpHandler } from './types.js';

type Args = Record<string, unknown>;

/** One op of the service, ready to serve: its spec, its handler, how to find its shard, how many IDs an answer issued. */
interface ServedOp<S> {
  readonly name: string;
  readonly spec: OpSpec;
  readonly handle: OpHandler<Args, unknown, S>;
  readonly shardOf: (args: Args) => number;
  readonly idsIssued: (result: unknown) => number;
}

/** The ops of `def`, each with its route and ID count read from its registry spec. */
function servedOps<S>(def: HostedService<S>): Map<string, ServedOp<S>> {
  const out = new Map<string, ServedOp<S>>();
  const handlers = def.handlers as unknown as Record<string, OpHandler<Args, unknown, S> | undefined>;
  for (const [name, spec] of Object.entries(def.spec.ops)) {
    const handle = handlers[name];
    if (handle === undefined) continue;
    const route = spec.route;
    const shardOf =
      route === 'shard'
        ? (args: Args) => args.shard as number
        : (args: Args) => def.spec.layout.shardOf(args[route.id] as bigint);
    const issues = spec.issues;
    const idsIssued = typeof issues === 'number' ? () => issues : (result: unknown) => (result as Record<string, number>)[issues] ?? 0;
    out.set(name, { name, spec, handle, shardOf, idsIssued });
  }
  return out;
}

/** Where a response goes: one WebSocket connection. */
export interface ReplyTarget {
  /** Requests of this connection awaiting an async answer. */
  inFlight: number;
  /** What this connection's token allows. */
  readonly role: Role;
  /** Send one encoded frame (dropped if the connection is gone). */
  send(bytes: Buffer): void;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/**
 * Turns decoded frames into answers. The synchronous path (validate, route,
 * call the handler, send) allocates one response buffer; a handler that
 * returns a promise costs one `.then`. Every failure becomes an error frame:
 * nothing a client sends escapes this class as an exception.
 */
export class Dispatcher<S> {
  /** Set by a graceful shutdown: new requests get SHUTTING_DOWN. */
  closing = false;
  /** Async requests in flight over all connections. */
  inFlight = 0;
  /** Answers `admin.info` (set by the server, which knows connections and readiness). */
  adminInfo: (() => AdminInfo) | undefined;
  /** Answers the shard-move admin ops (set by the server, see moves.ts). */
  moveOp: ((op: string, frame: Args) => Promise<unknown>) | undefined;
  /** Forwarded shards' new endpoints, named in their NOT_OWNER answers (see moves.ts). */
  movedTo: ReadonlyMap<number, string> = new Map();
  private idle: (() => void) | undefined;
  /** What this process hosts, sent in every NOT_OWNER (a move changes it: setShards). */
  private shardList: ShardRanges;
  private readonly ops: Map<string, ServedOp<S>>;
  /** The `ts.get` op when this service answers it (its frames have a short cut, see handleTsGet). */
  private readonly tsGet: ServedOp<S> | undefined;

  constructor(
    private readonly def: HostedService<S>,
    /** Indexed by shard id; undefined for shards not hosted here. */
    private readonly shards: ReadonlyArray<HostedShard<S> | undefined>,
    private readonly options: ResolvedServerOptions,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
  ) {
    this.shardList = options.shards;
    this.ops = servedOps(def);
    this.tsGet = this.ops.get('ts.get');
  }

  /** Answer one decoded frame from `conn` (`t0`: performance.now() when it arrived). Never throws. */
  handle(frame: unknown, conn: ReplyTarget, t0 = performance.now()): void {
    let id: number | null = null;
    let op = 'unknown';
    try {
      const env = parseEnvelope(frame);
      id = env.id;
      const served = this.ops.get(env.op);
      if (served === undefined && !isHostOp(env.op) && !isAdminOp(env.op)) {
        throw new ProtocolError(ERROR_CODES.UNKNOWN_OP, `${this.def.spec.name} has no op ${JSON.stringify(env.op.slice(0, 64))}`);
      }
      op = env.op;
      if (this.closing) throw new ProtocolError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down');
      if (op === 'ping') {
        this.reply(conn, id, op, { now: Math.floor(this.options.clock.now()) }, t0, undefined);
        return;
      }
      if (isAdminOp(op) || served?.spec.admin === true) {
        if (conn.role !== 'admin') {
          this.metrics.authFailed('forbidden');
          throw new ProtocolError(ERROR_CODES.FORBIDDEN, `${op} needs an admin token; this connection's token has role ${conn.role}`);
        }
        if (op === 'admin.info' && this.adminInfo !== undefined) {
          this.reply(conn, id, op, this.adminInfo(), t0, undefined);
          return;
        }
        if (this.moveOp !== undefined && (SHARD_MOVE_OPS as readonly string[]).includes(op)) {
          const reqId = id;
          this.moveOp(op, env.frame).then(
            (ok) => this.reply(conn, reqId, op, ok, t0, undefined),
            (err: unknown) => this.replyError(conn, reqId, op, err, t0, undefined),
          );
          return;
        }
      }
      if (served === undefined) throw new ProtocolError(ERROR_CODES.UNKNOWN_OP, `${this.def.spec.name} does not implement ${op}`);
      this.run(conn, id, served, this.parse(served, env.frame), t0);
    } catch (err) {
      if (id === null) id = readableId(frame);
      this.replyError(conn, id, op, err, t0, undefined);
    }
  }

  /** A move changed what this process hosts: later NOT_OWNER answers list `shards`. */
  setShards(shards: ShardRanges): void {
    this.shardList = shards;
  }

  /** This service answers `ts.get`: frames read by `readTsGetFrame` may go to `handleTsGet`. */
  get answersTsGet(): boolean {
    return this.tsGet !== undefined;
  }

  /**
   * Answer a `ts.get` read by the protocol's short cut (its fields already
   * checked, as parseEnvelope and parseArgs would): the same checks and answer
   * as `handle` from there on. Never throws.
   */
  handleTsGet(req: TsGetRequest, conn: ReplyTarget, t0: number): void {
    const args: Args = req.after === undefined ? { shard: req.shard, count: req.count } : { shard: req.shard, count: req.count, after: req.after };
    try {
      if (this.closing) throw new ProtocolError(ERROR_CODES.SHUTTING_DOWN, 'the server is shutting down');
      this.checkCount('ts.get', req.count);
      this.run(conn, req.id, this.tsGet!, args, t0);
    } catch (err) {
      this.replyError(conn, req.id, 'ts.get', err, t0, undefined);
    }
  }

  /** Route a checked request to its shard, call the handler, answer (now, or when its promise settles). Never throws. */
  private run(conn: ReplyTarget, id: number, served: ServedOp<S>, args: Args, t0: number): void {
    let shard: HostedShard<S> | undefined;
    const op = served.name;
    try {
      shard = this.route(served, args);
      if (conn.inFlight >= this.options.limits.maxInFlight) {
        this.metrics.rejected('overloaded');
        throw new ProtocolError(ERROR_CODES.OVERLOADED, `more than ${this.options.limits.maxInFlight} requests in flight on this connection`);
      }
      const result = served.handle(args, shard.handle);
      if (!isThenable(result)) {
        this.reply(conn, id, op, result, t0, shard, served);
        return;
      }
      this.track(conn, 1);
      const reqShard = shard;
      reqShard.track(1);
      result.then(
        (value) => {
          this.track(conn, -1);
          reqShard.track(-1);
          this.reply(conn, id, op, value, t0, reqShard, served);
        },
        (err: unknown) => {
          this.track(conn, -1);
          reqShard.track(-1);
          this.replyError(conn, id, op, err, t0, reqShard);
        },
      );
    } catch (err) {
      this.replyError(conn, id, op, err, t0, shard);
    }
  }

  /** Resolves when no async request is in flight (used by graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.idle;
      this.idle = () => {
        prev?.();
        resolve();
      };
    });
  }

  private track(conn: ReplyTarget, delta: number): void {
    conn.inFlight += delta;
    this.inFlight += delta;
    if (this.inFlight === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }

  private parse(served: ServedOp<S>, frame: Args): Args {
    const args: Args = parseArgs(served.name, served.spec, frame);
    const count = args.count;
    if (typeof count === 'number') this.checkCount(served.name, count);
    return args;
  }

  /** A `count` within the wire's range may still be above this server's `limits.maxCount`. */
  private checkCount(op: string, count: number): void {
    if (count > this.options.limits.maxCount) {
      const max = this.options.limits.maxCount;
      throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: count must be an integer in 1..${max} (this server's limits.maxCount); got ${count}`, { field: 'count' });
    }
  }

  private route(served: ServedOp<S>, args: Args): HostedShard<S> {
    let shardId: number;
    try {
      shardId = served.shardOf(args);
    } catch (err) {
      throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `cannot tell which shard this request is for: ${(err as Error)?.message}`);
    }
    const shard = Number.isInteger(shardId) ? this.shards[shardId] : undefined;
    if (shard === undefined) {
      const movedTo = this.movedTo.get(shardId);
      if (movedTo !== undefined) {
        throw new ProtocolError(ERROR_CODES.NOT_OWNER, `shard ${shardId} moved to ${movedTo}`, { shards: this.shardList, shard: shardId, movedTo });
      }
      throw new ProtocolError(ERROR_CODES.NOT_OWNER, `shard ${shardId} is not hosted by this process`, {
        shards: this.shardList,
        shard: shardId,
      });
    }
    if (!shard.available) {
      // 'draining' and 'closed' (released, not forwarded yet) happen only in a move (moves.ts).
      const why = shard.status === 'failed' ? 'failed' : shard.status === 'draining' || shard.status === 'closed' ? 'moving to another process' : 'closing';
      throw new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, `shard ${shardId} is ${why}`, {
        shard: shardId,
      });
    }
    return shard;
  }

  private reply(conn: ReplyTarget, id: number, op: string, result: unknown, t0: number, shard: HostedShard<S> | undefined, served?: ServedOp<S>): void {
    let bytes: Buffer;
    try {
      bytes = op === 'ts.get' && isRange(result) ? encodeRangeFrame(id, result.first, result.count) : encodeOkFrame(id, result);
    } catch (err) {
      this.replyError(conn, id, op, err, t0, shard);
      return;
    }
    conn.send(bytes);
    this.metrics.answeredOk(op, (performance.now() - t0) / 1000);
    if (shard !== undefined) {
      let m = shard.opMetrics.get(op);
      if (m === undefined) {
        m = this.metrics.shardOp(op, shard.id);
        shard.opMetrics.set(op, m);
      }
      m.requests++;
      if (served !== undefined) m.ids += served.idsIssued(result);
    }
  }

  private replyError(conn: ReplyTarget, id: number | null, op: string, err: unknown, t0: number, shard: HostedShard<S> | undefined): void {
    const [code, message, details] = this.describe(err, shard);
    try {
      conn.send(encodeFrame(errFrame(id, code, message, details)));
    } catch (e) {
      this.logger.error({ err: e }, 'could not encode an error frame');
    }
    this.metrics.answered(op, code, (performance.now() - t0) / 1000);
  }

  private describe(err: unknown, shard: HostedShard<S> | undefined): [ErrorCode, string, ErrorDetails] {
    if (err instanceof ProtocolError && isErrorCode(err.code)) {
      const pe = err;
      const details = pe.details ?? {};
      // Every NOT_OWNER lists what this process hosts, also when a handler raised it (a producer of another shard).
      if (pe.code === ERROR_CODES.NOT_OWNER && details.shards === undefined) return [pe.code, pe.message, { ...details, shards: this.shardList }];
      return [pe.code, pe.message, details];
    }
    // The error says how to treat it (its `kind`): no matching of other packages' codes or class names.
    const kind = errorKind(err);
    const message = err instanceof Error ? err.message : String(err);
    if (kind === 'bad_request') {
      // The generator refused the caller's input (an `after` too far ahead or out of range).
      const field = (err as { field?: unknown }).field;
      return [ERROR_CODES.BAD_REQUEST, message, { field: typeof field === 'string' ? field : 'after' }];
    }
    if (shard !== undefined && (kind === 'storage' || shard.generator.failed !== undefined)) {
      shard.fail(err instanceof Error ? err : new Error(message));
      return [ERROR_CODES.SHARD_UNAVAILABLE, `shard ${shard.id} failed: ${message}`, { shard: shard.id }];
    }
    if (kind === 'unavailable' || kind === 'storage') {
      return [ERROR_CODES.SHARD_UNAVAILABLE, message, shard === undefined ? {} : { shard: shard.id }];
    }
    this.logger.error({ err, shard: shard?.id }, 'request failed with an unexpected error');
    return [ERROR_CODES.INTERNAL, 'internal error', {}];
  }
}

/** Exactly `{ first: bigint, count: number }`: what encodeRangeFrame writes the same as encodeOkFrame. */
function isRange(r: unknown): r is { first: bigint; count: number } {
  const x = r as { first?: unknown; count?: unknown };
  if (typeof x.first !== 'bigint' || typeof x.count !== 'number') return false;
  let keys = 0;
  for (const _ in x) keys++;
  return keys === 2;
}

/** The request id of a frame whose envelope was refused, if it has a usable one. */
function readableId(frame: unknown): number | null {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return null;
  const id = (frame as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff ? id : null;
}
