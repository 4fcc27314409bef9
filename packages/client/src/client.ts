/**
 * `PharaohClient`: what DLog producers embed. Connects to a fleet, routes each
 * call to a shard (by key, by policy, or by the shard bits of an ID), batches
 * timestamp calls, fails fresh-ID calls over, and reconnects.
 */
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, shardForKey, type ServiceName, type SessionStatus, type ShardRanges, type TxStatus } from '@pharaoh/protocol';
import { TsoBatcher } from './batcher.js';
import { CallSite, ClientClosedError, ConnectError, InvalidArgumentError } from './errors.js';
import { checkFleetFile, fleetClaims, loadFleetFile, type FleetFile } from './fleet.js';
import { parseClientOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Router, type OpSpec } from './router.js';
import { StatusHub, type StatusEvent, type StatusListener } from './status.js';

/** Where the fleet is: a fleet file (path or parsed), or a list of WebSocket URLs (their hellos say the rest). */
export type FleetSource = { fleet: string | FleetFile } | { endpoints: string[] };

export interface KeyOptions {
  /** Route by `shardForKey(key)` (FNV-1a 32 of the UTF-8 bytes, mod 1024) instead of the policy. */
  key?: string;
}

export interface Session {
  sessionId: bigint;
  epoch: number;
}

export class PharaohClient {
  readonly tso: TsoApi;
  readonly tx: TxApi;
  readonly sessions: SessionsApi;
  private readonly hub = new StatusHub();
  private readonly router: Router;
  private readonly batcher: TsoBatcher;
  private closing: Promise<void> | undefined;

  private constructor(readonly options: ResolvedOptions) {
    if (options.onStatus !== undefined) this.hub.on(options.onStatus);
    this.router = new Router(options, this.hub);
    this.batcher = new TsoBatcher(this.router);
    this.tso = new TsoApi(this.batcher, this.router);
    this.tx = new TxApi(this.router);
    this.sessions = new SessionsApi(this.router);
  }

  /**
   * Connect to a fleet. Resolves once every endpoint's first attempt got a hello
   * or failed, and at least one hello arrived; unreachable endpoints keep being
   * retried in the background. Rejects with FleetConflictError when two
   * endpoints claim one shard of one service (in the file or in their hellos),
   * ConnectError when no endpoint answered.
   */
  static async connect(source: FleetSource, options?: ClientOptions): Promise<PharaohClient> {
    const opts = parseClientOptions(options);
    const claims = await claimsOf(source);
    const client = new PharaohClient(opts);
    client.router.addEndpoints(claims);
    try {
      const open = await client.router.settleConnect();
      if (open === 0) {
        const causes = client.router.conns.map((c) => `${c.url}: ${c.error?.message ?? 'no answer'}`);
        throw new ConnectError(`no endpoint of the fleet answered: ${causes.join('; ')}`);
      }
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** Listen to status events; returns a function that removes the listener. */
  on(event: 'status', listener: StatusListener): () => void {
    if (event !== 'status') throw new InvalidArgumentError(`unknown event ${String(event)}`);
    return this.hub.on(listener);
  }

  off(event: 'status', listener: StatusListener): void {
    if (event === 'status') this.hub.off(listener);
  }

  /** Status events as an async iterator; it ends when the client closes. */
  status(): AsyncIterableIterator<StatusEvent> {
    return this.hub.iterator();
  }

  /**
   * Close the client: every pending call rejects with one ClientClosedError,
   * every socket and timer is released (the process can exit), and later calls
   * reject at once. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const err = new ClientClosedError();
      this.batcher.close(err);
      await this.router.close(err);
      this.hub.end();
    })();
    return this.closing;
  }
}

async function claimsOf(source: FleetSource): Promise<Array<{ endpoint: string; service?: ServiceName; shards?: ShardRanges }>> {
  if ('endpoints' in source) {
    if (!Array.isArray(source.endpoints) || source.endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints must be a non-empty list of ws:// URLs');
    }
    for (const e of source.endpoints) {
      if (typeof e !== 'string' || !/^wss?:\/\/./.test(e)) throw new InvalidArgumentError(`not a ws:// URL: ${String(e)}`);
    }
    return [...new Set(source.endpoints)].map((endpoint) => ({ endpoint }));
  }
  const fleet = typeof source.fleet === 'string' ? await loadFleetFile(source.fleet) : checkFleetFile(source.fleet);
  const claims = fleetClaims(fleet);
  if (claims.length === 0) throw new InvalidArgumentError('the fleet lists no endpoints');
  return claims.map((c) => (c.shards === undefined ? { endpoint: c.endpoint, service: c.service } : c));
}

/** The last key hashed and its shard: a producer usually sends the same key again and again. */
let lastKey: string | undefined;
let lastKeyShard = 0;

function keyShard(opts: KeyOptions | undefined): number | undefined {
  const key = opts?.key;
  if (key === undefined) return undefined;
  if (key === lastKey) return lastKeyShard;
  if (typeof key !== 'string') throw new InvalidArgumentError('key must be a string');
  lastKeyShard = shardForKey(key);
  lastKey = key;
  return lastKeyShard;
}

function checkClosed(router: Router): void {
  if (router.isClosed) throw new ClientClosedError();
}

/** Timestamps (service `tso`). Calls are batched; see batcher.ts. */
export class TsoApi {
  constructor(
    private readonly batcher: TsoBatcher,
    private readonly router: Router,
  ) {}

  /**
   * One timestamp. Greater than every timestamp this client had received when
   * the call was made (on any shard); unique across the fleet.
   */
  next(opts?: KeyOptions): Promise<bigint> {
    try {
      checkClosed(this.router);
      // The batcher's promise itself, without an async wrapper (a promise and a microtask per call less);
      // its failures are re-created in the caller's await, see Waiter.failWithCallerStack.
      return this.batcher.take(1, keyShard(opts), false) as Promise<bigint>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Up to `n` consecutive timestamps `first .. first + count - 1` (count >= 1; fewer than n when a time unit runs out). */
  range(n: number, opts?: KeyOptions): Promise<{ first: bigint; count: number }> {
    try {
      checkClosed(this.router);
      if (!Number.isInteger(n) || n < 1 || n > 0x7fff_ffff) throw new InvalidArgumentError(`range(n): n must be an integer in [1, 2^31-1], got ${String(n)}`);
      return this.batcher.take(n, keyShard(opts), true) as Promise<{ first: bigint; count: number }>;
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function run(router: Router, site: CallSite, spec: OpSpec): Promise<Record<string, unknown>> {
  if (router.isClosed) return Promise.reject(site.stamp(new ClientClosedError()));
  return router.execute(spec, site);
}

function idShard(router: Router, service: 'txcoord' | 'session-mgr', id: unknown, what: string): number {
  if (typeof id !== 'bigint' || id < 0n || id >= 1n << 64n) throw new InvalidArgumentError(`${what} must be a 64-bit unsigned bigint`);
  return router.maps[service].layout.shardOf(id);
}

function checkTimeout(t: unknown): void {
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < MIN_TIMEOUT_MS || t > MAX_TIMEOUT_MS)) {
    throw new InvalidArgumentError(`timeoutMs must be an integer in [${MIN_TIMEOUT_MS}, ${MAX_TIMEOUT_MS}]`);
  }
}

/** Transactions (service `txcoord`). Follow-up calls go to the shard in the TxId's bits. */
export class TxApi {
  /** Largest TxId this client has received: `after` of the next begin. */
  private maxSeen = 0n;
  constructor(private readonly router: Router) {}

  /** Begin a transaction; the TxId is greater than every TxId this client had received. */
  async begin(opts?: KeyOptions & { timeoutMs?: number }): Promise<{ txId: bigint; startTs: bigint; timeoutMs: number }> {
    const site = new CallSite();
    checkTimeout(opts?.timeoutMs);
    const args: Record<string, unknown> = opts?.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
    const ok = await run(this.router, site, {
      service: 'txcoord', op: 'tx.begin', shard: keyShard(opts), args, sendShard: true,
      prepare: (f) => { if (this.maxSeen > 0n) f.after = this.maxSeen; },
      onOk: (r) => { if (BigInt(r.txId as bigint) > this.maxSeen) this.maxSeen = BigInt(r.txId as bigint); },
    });
    return { txId: BigInt(ok.txId as bigint), startTs: BigInt(ok.startTs as bigint), timeoutMs: ok.timeoutMs as number };
  }

  /** Commit; resolves once the decision is durable on the coordinator. Idempotent (same commitTs again). */
  async commit(txId: bigint): Promise<{ commitTs: bigint }> {
    const ok = await this.follow('tx.commit', txId, new CallSite());
    return { commitTs: BigInt(ok.commitTs as bigint) };
  }

  /** Abort; resolves once the decision is durable. Idempotent. */
  async abort(txId: bigint): Promise<void> {
    await this.follow('tx.abort', txId, new CallSite());
  }

  async status(txId: bigint): Promise<TxStatus> {
    return (await this.follow('tx.status', txId, new CallSite())).status as TxStatus;
  }

  /** Extend the transaction's timeout; resolves with the new remaining time. */
  async heartbeat(txId: bigint): Promise<{ timeoutMs: number }> {
    return { timeoutMs: (await this.follow('tx.heartbeat', txId, new CallSite())).timeoutMs as number };
  }

  private follow(op: string, txId: bigint, site: CallSite): Promise<Record<string, unknown>> {
    const shard = idShard(this.router, 'txcoord', txId, 'txId');
    return run(this.router, site, { service: 'txcoord', op, shard, args: { txId }, sendShard: false });
  }
}

/** Producer sessions (service `session-mgr`). */
export class SessionsApi {
  private maxSeen = 0n;
  constructor(private readonly router: Router) {}

  /**
   * Open a session. A named producer always goes to `shardForKey(producer)`
   * (session-mgr refuses it elsewhere); opening it again fences the old epoch.
   */
  async open(opts?: { producer?: string; timeoutMs?: number }): Promise<Session & { timeoutMs: number }> {
    const site = new CallSite();
    checkTimeout(opts?.timeoutMs);
    const producer = opts?.producer;
    if (producer !== undefined && (typeof producer !== 'string' || producer.length === 0)) {
      throw new InvalidArgumentError('producer must be a non-empty string');
    }
    const args: Record<string, unknown> = {};
    if (producer !== undefined) args.producer = producer;
    if (opts?.timeoutMs !== undefined) args.timeoutMs = opts.timeoutMs;
    const ok = await run(this.router, site, {
      service: 'session-mgr', op: 'session.open', shard: producer === undefined ? undefined : shardForKey(producer), args, sendShard: true,
      // A named producer's id is fixed across epochs, so `after` only applies to anonymous sessions.
      prepare: (f) => { if (producer === undefined && this.maxSeen > 0n) f.after = this.maxSeen; },
      onOk: (r) => { if (producer === undefined && BigInt(r.sessionId as bigint) > this.maxSeen) this.maxSeen = BigInt(r.sessionId as bigint); },
    });
    return { sessionId: BigInt(ok.sessionId as bigint), epoch: ok.epoch as number, timeoutMs: ok.timeoutMs as number };
  }

  async heartbeat(s: Session): Promise<{ timeoutMs: number }> {
    return { timeoutMs: (await this.follow('session.heartbeat', s, new CallSite())).timeoutMs as number };
  }

  /** Is this (sessionId, epoch) still the live one? Brokers call this to reject zombie producers. */
  async validate(s: Session): Promise<SessionStatus> {
    return (await this.follow('session.validate', s, new CallSite())).status as SessionStatus;
  }

  async close(s: Session): Promise<void> {
    await this.follow('session.close', s, new CallSite());
  }

  private follow(op: string, s: Session, site: CallSite): Promise<Record<string, unknown>> {
    if (typeof s !== 'object' || s === null || !Number.isInteger(s.epoch)) throw new InvalidArgumentError('expected a session { sessionId, epoch }');
    const shard = idShard(this.router, 'session-mgr', s.sessionId, 'sessionId');
    return run(this.router, site, { service: 'session-mgr', op, shard, args: { sessionId: s.sessionId, epoch: s.epoch }, sendShard: false });
  }
}
