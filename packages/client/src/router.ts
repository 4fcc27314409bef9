/**
 * The orchestrator: owns the connections and the per-service shard maps, turns
 * connection events into ownership and status changes, and runs every
 * non-batched call with retries: fresh-ID calls fail over to another healthy
 * shard, calls about an existing ID wait for their shard until their timeout.
 */
import { ERROR_CODES, SHARD_COUNT, expandShardRanges, readResult, toShardRanges, type ShardRanges } from '@pharaoh/protocol';
import type { OpsOf, ServiceArgs, ServiceResult, ServiceSpec } from '@pharaoh/registry';
import { Connection, type ConnectionEvents, type Hello } from './connection.js';
import { Deadlines, type Expirable } from './deadlines.js';
import {
  CallSite,
  ClientClosedError,
  ConnectionLostError,
  InvalidArgumentError,
  ProtocolViolationError,
  ServerError,
  TimeoutError,
  isRetryable,
  type PharaohError,
} from './errors.js';
import type { EndpointClaim } from './fleet.js';
import type { ResolvedOptions } from './options.js';
import { ShardMap, type OwnershipChange } from './shard-map.js';
import type { StatusHub } from './status.js';
import { createWsTransport } from './transport.js';

/** The arguments of a call: the op's fields but `shard`, which the router fills in for shard-routed ops. */
export type CallArgs<Spec extends ServiceSpec, O extends OpsOf<Spec>> = Omit<ServiceArgs<Spec, O>, 'shard'>;

/**
 * One non-batched call, typed from the registry: an op of a service and its
 * arguments. Where it goes follows the op's route: a shard-routed op (a fresh
 * ID) goes to `shard` when given (a keyed call), else to a healthy shard picked
 * per attempt; an ID-routed op goes to the shard in that ID's bits.
 */
export interface Call<Spec extends ServiceSpec, O extends OpsOf<Spec>> {
  spec: Spec;
  op: O;
  args: CallArgs<Spec, O>;
  shard?: number | undefined;
  /** Called before each attempt to set fields that may change between attempts (e.g. `after`). */
  prepare?(args: CallArgs<Spec, O>): void;
  /** Called with each successful result before the caller sees it. */
  onOk?(result: ServiceResult<Spec, O>): void;
}

/** A call with its types erased, as the retry loop holds it. */
interface AnyCall {
  spec: ServiceSpec;
  op: string;
  args: Record<string, unknown>;
  shard?: number | undefined;
  prepare?(args: Record<string, unknown>): void;
  onOk?(result: unknown): void;
}

/** A caller-visible call: expires with TimeoutError, or fails with one shared error at close. */
export interface CallEntry extends Expirable {
  fail(err: Error): void;
}

/**
 * What every caller-visible call (an op call here, a batched tso call in the
 * batcher) keeps for its deadline, and the TimeoutError it ends with.
 */
export abstract class TimedCall implements CallEntry {
  done = false;
  deadline = 0;
  /** The last retryable error, named in the TimeoutError. */
  lastError: PharaohError | undefined;
  constructor(private readonly timeoutMs: number) {}
  abstract expire(): void;
  abstract fail(err: Error): void;
  protected timedOut(what: string): TimeoutError {
    return callTimedOut(what, this.timeoutMs, this.lastError);
  }
}

/** `<what> did not succeed within <timeout> ms[: last error: …]`, caused by the last error. */
export function callTimedOut(what: string, timeoutMs: number, lastError: PharaohError | undefined): TimeoutError {
  const why = lastError ? `: last error: ${lastError.message}` : '';
  return new TimeoutError(`${what} did not succeed within ${timeoutMs} ms${why}`, { cause: lastError });
}

class OpCall extends TimedCall {
  constructor(
    readonly spec: AnyCall,
    /**
     * The shard every attempt goes to (keyed or ID-routed), or undefined: pick
     * one per attempt — until a NOT_OWNER names another shard as the one the
     * request belongs to (a keyed op sent without its key), which pins it.
     */
    public fixedShard: number | undefined,
    readonly site: CallSite,
    readonly resolve: (ok: unknown) => void,
    readonly rejectRaw: (err: Error) => void,
    timeoutMs: number,
  ) {
    super(timeoutMs);
  }
  expire(): void {
    this.rejectRaw(this.site.stamp(this.timedOut(this.spec.op)));
  }
  fail(err: Error): void {
    this.rejectRaw(err);
  }
}

export class Router {
  /** One shard map per service of the registry, by name. */
  private readonly maps = new Map<string, ShardMap>();
  readonly conns: Connection[] = [];
  /** Deadlines of caller-visible calls (the batcher's waiters too). */
  readonly calls: Deadlines<CallEntry>;
  private stalled: Array<() => void> = [];
  private stallTimer: unknown = undefined;
  private closed = false;
  private strict = true;

  constructor(
    readonly opts: ResolvedOptions,
    private readonly status: StatusHub,
  ) {
    for (const spec of opts.services.services) this.maps.set(spec.name, new ShardMap(spec, opts.clock, opts.random));
    this.calls = new Deadlines<CallEntry>(opts.clock, opts.timeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The shard map of `service`; InvalidArgumentError for a service this client's registry does not list. */
  map(service: string): ShardMap {
    const m = this.maps.get(service);
    if (m === undefined) throw new InvalidArgumentError(`unknown service ${service}: this client knows ${this.opts.services.names.join(', ')}`);
    return m;
  }

  /** Add endpoints (with fleet-file claims when known) and start connecting. */
  addEndpoints(claims: Array<{ endpoint: string; service?: string; shards?: ShardRanges }>): void {
    const transport = this.opts.transport ?? createWsTransport({ token: this.opts.token, tls: this.opts.tls });
    for (const c of claims) {
      if (this.conns.some((x) => x.url === c.endpoint)) continue;
      const conn = new Connection(c.endpoint, this.opts, transport, this.events);
      conn.expectedService = c.service;
      if (c.shards !== undefined) {
        conn.claim = c.shards;
        conn.claimSource = 'file';
      }
      this.conns.push(conn);
    }
    for (const m of this.maps.values()) m.recompute(this.servicesConns(m.service), false);
    for (const conn of this.conns) conn.start();
  }

  /**
   * Wait for every endpoint's first attempt, then check the fleet: throws
   * FleetConflictError if two live endpoints claim a shard of one service.
   * From then on conflicts are reported as events instead (the older claim wins).
   */
  async settleConnect(): Promise<number> {
    await Promise.all(this.conns.map((c) => c.firstAttempt));
    for (const m of this.maps.values()) m.recompute(this.servicesConns(m.service), true);
    this.strict = false;
    return this.conns.filter((c) => c.isOpen).length;
  }

  private servicesConns(service: string): Connection[] {
    return this.conns.filter((c) => c.service === service);
  }

  private readonly events: ConnectionEvents = {
    onOpen: (conn, hello, reconnected) => this.onOpen(conn, hello, reconnected),
    onDown: (conn, err) => {
      const service = conn.service;
      if (service !== undefined) this.applyOwnership(service);
      this.opts.logger.warn({ endpoint: conn.url, err: err.message }, 'connection lost');
      this.status.emit({ type: 'disconnect', endpoint: conn.url, service, error: err.message });
    },
    onBackoff: (conn, attempt, delayMs) => {
      this.opts.logger.debug({ endpoint: conn.url, attempt, delayMs }, 'reconnecting after backoff');
    },
  };

  private onOpen(conn: Connection, hello: Hello, reconnected: boolean): void {
    const before = conn.claim;
    const expected = conn.expectedService;
    if (expected !== undefined && expected !== hello.service) {
      this.opts.logger.warn({ endpoint: conn.url, expected, got: hello.service }, 'endpoint serves another service than the fleet file says');
    }
    conn.expectedService = hello.service;
    conn.claim = hello.shards;
    conn.claimSource = 'hello';
    conn.claimSince = this.opts.clock.now();
    this.map(hello.service).layout = hello.layout;
    if (before !== undefined && !sameRanges(before, hello.shards)) {
      this.opts.logger.warn({ endpoint: conn.url, before, after: hello.shards }, 'hello differs from the shards believed; the hello wins');
      this.status.emit({
        type: 'fleet-changed',
        service: hello.service,
        endpoint: conn.url,
        reason: 'hello',
        before,
        after: hello.shards,
        detail: `${conn.url} hosts ${fmt(hello.shards)}, not ${fmt(before)}`,
      });
    }
    if (expected !== undefined && expected !== hello.service) this.maps.get(expected)?.recompute(this.servicesConns(expected), false);
    this.applyOwnership(hello.service);
    this.status.emit(
      reconnected
        ? { type: 'reconnect', endpoint: conn.url, service: hello.service, shards: hello.shards }
        : { type: 'connect', endpoint: conn.url, service: hello.service, shards: hello.shards, server: hello.server },
    );
    this.wake();
  }

  /** Recompute one service's owners and report conflicts (outside `connect()`). */
  private applyOwnership(service: string): OwnershipChange {
    const change = this.map(service).recompute(this.servicesConns(service), false);
    if (!this.strict) this.reportConflicts(service, change);
    return change;
  }

  private reportConflicts(service: string, change: OwnershipChange): void {
    const byPair = new Map<string, { kept: Connection; refused: Connection; shards: number[] }>();
    for (const c of change.conflicts) {
      const k = `${c.kept.url} ${c.refused.url}`;
      const e = byPair.get(k) ?? { kept: c.kept, refused: c.refused, shards: [] };
      e.shards.push(c.shard);
      byPair.set(k, e);
    }
    for (const { kept, refused, shards } of byPair.values()) {
      const detail = `${kept.url} and ${refused.url} both claim shards ${shards.length} of ${service} (first ${shards[0]}); keeping ${kept.url}`;
      this.opts.logger.error({ service, kept: kept.url, refused: refused.url, shards: shards.length }, detail);
      this.status.emit({ type: 'fleet-changed', service, endpoint: refused.url, reason: 'conflict', before: undefined, after: this.map(service).shardsOf(refused), detail });
    }
  }

  /**
   * A request failed with a retryable error: update what we know so the next
   * attempt goes elsewhere. NOT_OWNER replaces the endpoint's shards with the
   * list the server sent; SHARD_UNAVAILABLE and SHUTTING_DOWN quarantine the shard.
   */
  noteFailure(service: string, shard: number, conn: Connection | undefined, err: PharaohError): void {
    if (!(err instanceof ServerError)) return;
    if (err.code === ERROR_CODES.NOT_OWNER && conn !== undefined) {
      const before = conn.claim;
      const after = Array.isArray(err.details.shards) ? (err.details.shards as ShardRanges) : [];
      conn.claim = after;
      conn.claimSource = 'not-owner';
      conn.claimSince = this.opts.clock.now();
      this.applyOwnership(service);
      this.opts.logger.warn({ endpoint: conn.url, shard, before, after }, 'NOT_OWNER: shard map refreshed');
      this.status.emit({ type: 'fleet-changed', service, endpoint: conn.url, reason: 'not-owner', before, after, detail: `${conn.url} does not host shard ${shard}` });
      const movedTo = err.details.movedTo;
      if (typeof movedTo === 'string') this.learnMove(service, shard, movedTo);
      // Nobody left claims the shard: reconnect idle endpoints now, their hellos may.
      if (this.map(service).ownerOf(shard) === undefined) for (const c of this.conns) c.kick();
    } else if (err.code === ERROR_CODES.SHARD_UNAVAILABLE || err.code === ERROR_CODES.SHUTTING_DOWN) {
      this.map(service).quarantine(shard, this.opts.shardQuarantineMs);
    }
  }

  /**
   * A NOT_OWNER named the shard's new endpoint (`pharaoh shard move`, see
   * docs/PROTOCOL.md): the shard joins that endpoint's claim, or, for an
   * endpoint this client does not know yet, the endpoint is added (its hello
   * claims the shard). The target's next hello, or a NOT_OWNER from it,
   * replaces this claim as usual.
   */
  private learnMove(service: string, shard: number, movedTo: string): void {
    const target = this.conns.find((c) => c.url === movedTo);
    if (target === undefined) {
      this.opts.logger.warn({ service, shard, endpoint: movedTo }, 'shard moved to an endpoint this client did not know; connecting to it');
      this.addEndpoints([{ endpoint: movedTo, service }]);
      return;
    }
    if (target.service !== service) return;
    const claimed = new Set(target.claim === undefined ? [] : expandShardRanges(target.claim));
    if (claimed.has(shard)) return;
    claimed.add(shard);
    const before = target.claim;
    target.claim = toShardRanges([...claimed].sort((a, b) => a - b));
    target.claimSource = 'not-owner';
    target.claimSince = this.opts.clock.now();
    this.applyOwnership(service);
    this.status.emit({ type: 'fleet-changed', service, endpoint: target.url, reason: 'not-owner', before, after: target.claim, detail: `shard ${shard} moved to ${target.url}` });
  }

  /**
   * Where a request to `map`'s service goes now: the fixed shard (keyed or
   * ID-routed), else one the policy picks, and its connection when that is
   * open. Without one (`conn` undefined) the caller waits (`stall`) and asks
   * again. The one routing rule of batched and unbatched calls alike.
   */
  route(map: ShardMap, fixed: number | undefined): { shard: number | undefined; conn: Connection | undefined } {
    const shard = fixed ?? map.pick(this.opts.policy);
    const owner = shard === undefined ? undefined : map.ownerOf(shard);
    return { shard, conn: owner !== undefined && owner.isOpen ? owner : undefined };
  }

  /** The error a request waiting for a route records (named in its TimeoutError). */
  noRoute(map: ShardMap, shard: number | undefined): ConnectionLostError {
    return new ConnectionLostError((shard === undefined ? undefined : map.ownerOf(shard))?.url ?? '(none)', noRouteMessage(map.service, shard));
  }

  /**
   * What to do after an attempt failed, for batched and unbatched calls alike:
   * `fail` (not retryable: the caller gets `err`), `now` (a fresh-ID call:
   * another healthy shard at once; the failed one was just noted), or
   * `later` (a fixed shard, or an overloaded fleet: wait for routing to change).
   */
  afterFailure(service: string, shard: number, conn: Connection, err: PharaohError, fresh: boolean): 'fail' | 'now' | 'later' {
    if (!isRetryable(err)) return 'fail';
    this.noteFailure(service, shard, conn, err);
    return fresh && err.code !== ERROR_CODES.OVERLOADED ? 'now' : 'later';
  }

  /** Run `fn` again once routing may have changed: a connection opened, or after retryDelayMs. */
  stall(fn: () => void): void {
    if (this.closed) return;
    this.stalled.push(fn);
    if (this.stallTimer === undefined) {
      this.stallTimer = this.opts.clock.setTimeout(() => {
        this.stallTimer = undefined;
        this.wake();
      }, this.opts.retryDelayMs);
    }
  }

  private wake(): void {
    if (this.stallTimer !== undefined) this.opts.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const fns = this.stalled;
    this.stalled = [];
    for (const fn of fns) fn();
  }

  /**
   * Run one request with retries until it succeeds, fails for good, or its
   * timeout passes (then TimeoutError, stamped with the caller's stack).
   * Retryable failures of a fresh-ID call go at once to another healthy shard;
   * a fixed-shard call waits for its shard (reconnect, new owner) instead.
   */
  execute<Spec extends ServiceSpec, O extends OpsOf<Spec>>(call: Call<Spec, O>, site: CallSite): Promise<ServiceResult<Spec, O>> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(site.stamp(new ClientClosedError()));
      const spec = call as unknown as AnyCall;
      let fixed: number | undefined;
      try {
        fixed = this.fixedShard(spec);
      } catch (err) {
        return reject(site.stamp(err as Error));
      }
      const c = new OpCall(spec, fixed, site, resolve as (ok: unknown) => void, reject, this.opts.timeoutMs);
      this.calls.add(c);
      this.attempt(c);
    });
  }

  /** Where every attempt of `call` goes: its ID's shard, its key's shard, or undefined (any healthy shard). */
  private fixedShard(call: AnyCall): number | undefined {
    const op = call.spec.ops[call.op];
    if (op === undefined) throw new InvalidArgumentError(`${call.spec.name} has no op ${call.op}`);
    const map = this.map(call.spec.name);
    if (op.route === 'shard') return call.shard;
    const id = call.args[op.route.id];
    if (typeof id !== 'bigint' || id < 0n || id >= 1n << 64n) throw new InvalidArgumentError(`${op.route.id} must be a 64-bit unsigned bigint`);
    return map.layout.shardOf(id);
  }

  private attempt(call: OpCall): void {
    if (call.done) return;
    const { spec } = call;
    const map = this.map(spec.spec.name);
    const { shard, conn } = this.route(map, call.fixedShard);
    if (shard === undefined || conn === undefined) {
      call.lastError ??= this.noRoute(map, shard);
      this.stall(() => this.attempt(call));
      return;
    }
    const args = { ...spec.args };
    spec.prepare?.(args);
    const frame: Record<string, unknown> = { op: spec.op, ...args };
    if (spec.spec.ops[spec.op]!.route === 'shard') frame.shard = shard;
    conn.request(frame, (err, ok) => {
      if (call.done) return;
      if (err === undefined) {
        let result: unknown;
        try {
          result = readResult(spec.op, spec.spec.ops[spec.op]!, ok);
        } catch (e) {
          this.calls.finish(call);
          call.rejectRaw(call.site.stamp(new ProtocolViolationError(`bad answer from ${conn.url}: ${(e as Error).message}`)));
          return;
        }
        spec.onOk?.(result);
        this.calls.finish(call);
        call.resolve(result);
        return;
      }
      const next = this.afterFailure(spec.spec.name, shard, conn, err, call.fixedShard === undefined);
      if (next === 'fail') {
        this.calls.finish(call);
        call.rejectRaw(call.site.stamp(err));
        return;
      }
      call.lastError = err;
      // A keyed op sent without its key (e.g. `pharaoh call` without --key): the server names the shard it belongs to.
      const owner = err instanceof ServerError && err.code === ERROR_CODES.NOT_OWNER ? err.details.shard : undefined;
      if (call.fixedShard === undefined && typeof owner === 'number' && Number.isInteger(owner) && owner !== shard && owner >= 0 && owner < SHARD_COUNT) {
        call.fixedShard = owner;
        this.attempt(call);
        return;
      }
      if (next === 'now') this.attempt(call);
      else this.stall(() => this.attempt(call));
    });
  }

  /** Close every connection; pending calls fail with `err`. No timer or socket remains. */
  async close(err: ClientClosedError): Promise<void> {
    this.closed = true;
    if (this.stallTimer !== undefined) this.opts.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.stalled = [];
    for (const call of this.calls.drain()) call.fail(err);
    await Promise.all(this.conns.map((c) => c.close(err)));
  }
}

function noRouteMessage(service: string, shard: number | undefined): string {
  return shard === undefined
    ? `no healthy ${service} shard is connected`
    : `no connected ${service} endpoint hosts shard ${shard}`;
}

function sameRanges(a: ShardRanges, b: ShardRanges): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);
}

function fmt(r: ShardRanges): string {
  return r.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',') || '(none)';
}
