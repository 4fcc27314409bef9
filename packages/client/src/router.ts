/**
 * The orchestrator: owns the connections and the per-service shard maps, turns
 * connection events into ownership and status changes, and runs every
 * non-batched call with retries: fresh-ID calls fail over to another healthy
 * shard, calls about an existing ID wait for their shard until their timeout.
 */
import { ERROR_CODES, SERVICES, type ServiceName, type ShardRanges } from '@pharaoh/protocol';
import { Connection, type ConnectionEvents, type Hello } from './connection.js';
import { Deadlines, type Expirable } from './deadlines.js';
import {
  CallSite,
  ClientClosedError,
  ConnectionLostError,
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

/** A non-batched request: which shard (fixed or picked per attempt) and what to send. */
export interface OpSpec {
  service: ServiceName;
  op: string;
  /** A fixed shard (keyed call or an ID's shard), or undefined: pick a healthy shard per attempt (fresh ID). */
  shard: number | undefined;
  /** Request fields besides `id`, `op` and (for shard-addressed ops) `shard`. */
  args: Record<string, unknown>;
  /** Put `shard` into the request (ops addressed by shard rather than by an ID). */
  sendShard: boolean;
  /** Called before each attempt to add fields that may change between attempts (e.g. `after`). */
  prepare?(frame: Record<string, unknown>): void;
  /** Called with each successful result before the caller sees it. */
  onOk?(ok: Record<string, unknown>): void;
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
    readonly spec: OpSpec,
    readonly site: CallSite,
    readonly resolve: (ok: Record<string, unknown>) => void,
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
  readonly maps: Record<ServiceName, ShardMap>;
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
    this.maps = Object.fromEntries(SERVICES.map((s) => [s, new ShardMap(s, opts.clock, opts.random)])) as Record<ServiceName, ShardMap>;
    this.calls = new Deadlines<CallEntry>(opts.clock, opts.timeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Add endpoints (with fleet-file claims when known) and start connecting. */
  addEndpoints(claims: Array<{ endpoint: string; service?: ServiceName; shards?: ShardRanges }>): void {
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
    for (const s of SERVICES) this.maps[s].recompute(this.servicesConns(s), false);
    for (const conn of this.conns) conn.start();
  }

  /**
   * Wait for every endpoint's first attempt, then check the fleet: throws
   * FleetConflictError if two live endpoints claim a shard of one service.
   * From then on conflicts are reported as events instead (the older claim wins).
   */
  async settleConnect(): Promise<number> {
    await Promise.all(this.conns.map((c) => c.firstAttempt));
    for (const s of SERVICES) this.maps[s].recompute(this.servicesConns(s), true);
    this.strict = false;
    return this.conns.filter((c) => c.isOpen).length;
  }

  private servicesConns(service: ServiceName): Connection[] {
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
    this.maps[hello.service].layout = hello.layout;
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
    if (expected !== undefined && expected !== hello.service) this.maps[expected].recompute(this.servicesConns(expected), false);
    this.applyOwnership(hello.service);
    this.status.emit(
      reconnected
        ? { type: 'reconnect', endpoint: conn.url, service: hello.service, shards: hello.shards }
        : { type: 'connect', endpoint: conn.url, service: hello.service, shards: hello.shards, server: hello.server },
    );
    this.wake();
  }

  /** Recompute one service's owners and report conflicts (outside `connect()`). */
  private applyOwnership(service: ServiceName): OwnershipChange {
    const change = this.maps[service].recompute(this.servicesConns(service), false);
    if (!this.strict) this.reportConflicts(service, change);
    return change;
  }

  private reportConflicts(service: ServiceName, change: OwnershipChange): void {
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
      this.status.emit({ type: 'fleet-changed', service, endpoint: refused.url, reason: 'conflict', before: undefined, after: this.maps[service].shardsOf(refused), detail });
    }
  }

  /**
   * A request failed with a retryable error: update what we know so the next
   * attempt goes elsewhere. NOT_OWNER replaces the endpoint's shards with the
   * list the server sent; SHARD_UNAVAILABLE and SHUTTING_DOWN quarantine the shard.
   */
  noteFailure(service: ServiceName, shard: number, conn: Connection | undefined, err: PharaohError): void {
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
      // Nobody left claims the shard: reconnect idle endpoints now, their hellos may.
      if (this.maps[service].ownerOf(shard) === undefined) for (const c of this.conns) c.kick();
    } else if (err.code === ERROR_CODES.SHARD_UNAVAILABLE || err.code === ERROR_CODES.SHUTTING_DOWN) {
      this.maps[service].quarantine(shard, this.opts.shardQuarantineMs);
    }
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
  execute(spec: OpSpec, site: CallSite): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(site.stamp(new ClientClosedError()));
      const call = new OpCall(spec, site, resolve, reject, this.opts.timeoutMs);
      this.calls.add(call);
      this.attempt(call);
    });
  }

  private attempt(call: OpCall): void {
    if (call.done) return;
    const { spec } = call;
    const map = this.maps[spec.service];
    const shard = spec.shard ?? map.pick(this.opts.policy);
    const conn = shard === undefined ? undefined : map.ownerOf(shard);
    if (shard === undefined || conn === undefined || !conn.isOpen) {
      call.lastError ??= new ConnectionLostError(conn?.url ?? '(none)', noRouteMessage(spec, shard));
      this.stall(() => this.attempt(call));
      return;
    }
    const frame: Record<string, unknown> = { op: spec.op, ...spec.args };
    if (spec.sendShard) frame.shard = shard;
    spec.prepare?.(frame);
    conn.request(frame, (err, ok) => {
      if (call.done) return;
      if (err === undefined) {
        spec.onOk?.(ok!);
        this.calls.finish(call);
        call.resolve(ok!);
        return;
      }
      if (!isRetryable(err)) {
        this.calls.finish(call);
        call.rejectRaw(call.site.stamp(err));
        return;
      }
      call.lastError = err;
      this.noteFailure(spec.service, shard, conn, err);
      const again = (): void => this.attempt(call);
      // A fresh-ID call can go elsewhere at once; everything else (and an overloaded fleet) pauses first.
      if (spec.shard === undefined && err.code !== ERROR_CODES.OVERLOADED) again();
      else this.stall(again);
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

function noRouteMessage(spec: OpSpec, shard: number | undefined): string {
  return shard === undefined
    ? `no healthy ${spec.service} shard is connected`
    : `no connected ${spec.service} endpoint hosts shard ${shard}`;
}

function sameRanges(a: ShardRanges, b: ShardRanges): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);
}

function fmt(r: ShardRanges): string {
  return r.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',') || '(none)';
}
