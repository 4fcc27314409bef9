/**
 * `PharaohClient`: what DLog producers embed. Connects to a fleet, routes each
 * call to a shard (by key, by policy, or by the shard bits of an ID), batches
 * timestamp calls, fails fresh-ID calls over, and reconnects.
 */
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, shardForKey, type ShardRanges } from '@pharaoh/protocol';
import { SCHEMA_REGISTRY, SESSION_MGR, TXCOORD, type OpsOf, type ServiceResult, type ServiceSpec, type SessionStatus, type TxStatus } from '@pharaoh/registry';
import { TsoBatcher } from './batcher.js';
import { CdcApi, OffsetsApi } from './sequencer.js';
import { CallSite, ClientClosedError, ConnectError, InvalidArgumentError } from './errors.js';
import { checkFleetFile, fleetClaims, loadFleetFile, type FleetFile } from './fleet.js';
import { parseClientOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Router, type Call, type CallArgs } from './router.js';
import { SchemasApi } from './schemas.js';
import { StatusHub, type StatusEvent, type StatusListener } from './status.js';
import { GroupsApi } from './groups.js';

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
  /** Consumer groups (service `group-coord`). */
  readonly groups: GroupsApi;
  /** CDC event ids and partition offsets (service `sequencer`), see sequencer.ts. */
  readonly cdc: CdcApi;
  readonly offsets: OffsetsApi;
  private readonly hub = new StatusHub();
  private readonly router: Router;
  private readonly batcher: TsoBatcher;
  private closing: Promise<void> | undefined;
  private schemasApi: SchemasApi | undefined;

  private constructor(readonly options: ResolvedOptions) {
    if (options.onStatus !== undefined) this.hub.on(options.onStatus);
    this.router = new Router(options, this.hub);
    this.batcher = new TsoBatcher(this.router);
    this.tso = new TsoApi(this.batcher, this.router);
    this.tx = new TxApi(this.router);
    this.sessions = new SessionsApi(this.router);
    this.groups = new GroupsApi(this.router);
    this.cdc = new CdcApi(this.router);
    this.offsets = new OffsetsApi(this.router);
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
    const claims = await claimsOf(source, opts);
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

  /**
   * Typed calls to any service of this client's registry (`options.services`):
   * `client.service(TXCOORD).call('tx.status', { txId })`. The per-service
   * APIs above are shorthands over the same calls.
   */
  service<Spec extends ServiceSpec>(spec: Spec): ServiceClient<Spec> {
    if (this.options.services.find(spec.name) !== spec) throw new InvalidArgumentError(`service ${spec.name} is not in this client's registry (options.services)`);
    return new ServiceClient(this.router, spec);
  }

  /** Schema ids (service `schema-registry`), see schemas.ts; needs it in `options.services`. */
  get schemas(): SchemasApi {
    return (this.schemasApi ??= new SchemasApi(this.service(SCHEMA_REGISTRY)));
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

async function claimsOf(source: FleetSource, options: ResolvedOptions): Promise<Array<{ endpoint: string; service?: string; shards?: ShardRanges }>> {
  if ('endpoints' in source) {
    if (!Array.isArray(source.endpoints) || source.endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints must be a non-empty list of ws:// URLs');
    }
    for (const e of source.endpoints) {
      if (typeof e !== 'string' || !/^wss?:\/\/./.test(e)) throw new InvalidArgumentError(`not a ws:// URL: ${String(e)}`);
    }
    return [...new Set(source.endpoints)].map((endpoint) => ({ endpoint }));
  }
  const services = options.services;
  const fleet = typeof source.fleet === 'string' ? await loadFleetFile(source.fleet, services) : checkFleetFile(source.fleet, 'fleet', services);
  const claims = fleetClaims(fleet, services);
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

/** Per-call options of a generic call. */
export interface CallOptions {
  /** Shard-routed ops: route by `shardForKey(key)` instead of the policy. */
  key?: string;
}

/**
 * Calls to one service, typed from its registry entry: the arguments and the
 * answer of each op come from its field and result specs, and the answer is
 * checked against them before it is returned.
 */
export class ServiceClient<Spec extends ServiceSpec> {
  constructor(
    private readonly router: Router,
    readonly spec: Spec,
  ) {}

  call<O extends OpsOf<Spec>>(op: O, args: CallArgs<Spec, O>, opts?: CallOptions): Promise<ServiceResult<Spec, O>> {
    const site = new CallSite();
    try {
      return run(this.router, site, { spec: this.spec, op, args, shard: keyShard(opts) });
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function run<Spec extends ServiceSpec, O extends OpsOf<Spec>>(router: Router, site: CallSite, call: Call<Spec, O>): Promise<ServiceResult<Spec, O>> {
  if (router.isClosed) return Promise.reject(site.stamp(new ClientClosedError()));
  return router.execute(call, site);
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
  async begin(opts?: KeyOptions & { timeoutMs?: number }): Promise<ServiceResult<typeof TXCOORD, 'tx.begin'>> {
    const site = new CallSite();
    checkTimeout(opts?.timeoutMs);
    return run(this.router, site, {
      spec: TXCOORD, op: 'tx.begin', shard: keyShard(opts), args: opts?.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs },
      prepare: (a) => { if (this.maxSeen > 0n) a.after = this.maxSeen; },
      onOk: (r) => { if (r.txId > this.maxSeen) this.maxSeen = r.txId; },
    });
  }

  /** Commit; resolves once the decision is durable on the coordinator. Idempotent (same commitTs again). */
  async commit(txId: bigint): Promise<ServiceResult<typeof TXCOORD, 'tx.commit'>> {
    return run(this.router, new CallSite(), { spec: TXCOORD, op: 'tx.commit', args: { txId } });
  }

  /** Abort; resolves once the decision is durable. Idempotent. */
  async abort(txId: bigint): Promise<void> {
    await run(this.router, new CallSite(), { spec: TXCOORD, op: 'tx.abort', args: { txId } });
  }

  async status(txId: bigint): Promise<TxStatus> {
    return (await run(this.router, new CallSite(), { spec: TXCOORD, op: 'tx.status', args: { txId } })).status;
  }

  /** Extend the transaction's timeout; resolves with the new remaining time. */
  async heartbeat(txId: bigint): Promise<ServiceResult<typeof TXCOORD, 'tx.heartbeat'>> {
    return run(this.router, new CallSite(), { spec: TXCOORD, op: 'tx.heartbeat', args: { txId } });
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
  async open(opts?: { producer?: string; timeoutMs?: number }): Promise<ServiceResult<typeof SESSION_MGR, 'session.open'>> {
    const site = new CallSite();
    checkTimeout(opts?.timeoutMs);
    const producer = opts?.producer;
    if (producer !== undefined && (typeof producer !== 'string' || producer.length === 0)) {
      throw new InvalidArgumentError('producer must be a non-empty string');
    }
    const args: CallArgs<typeof SESSION_MGR, 'session.open'> = {};
    if (producer !== undefined) args.producer = producer;
    if (opts?.timeoutMs !== undefined) args.timeoutMs = opts.timeoutMs;
    return run(this.router, site, {
      spec: SESSION_MGR, op: 'session.open', shard: producer === undefined ? undefined : shardForKey(producer), args,
      // A named producer's id is fixed across epochs, so `after` only applies to anonymous sessions.
      prepare: (a) => { if (producer === undefined && this.maxSeen > 0n) a.after = this.maxSeen; },
      onOk: (r) => { if (producer === undefined && r.sessionId > this.maxSeen) this.maxSeen = r.sessionId; },
    });
  }

  async heartbeat(s: Session): Promise<ServiceResult<typeof SESSION_MGR, 'session.heartbeat'>> {
    const site = new CallSite();
    return run(this.router, site, { spec: SESSION_MGR, op: 'session.heartbeat', args: sessionRef(s) });
  }

  /** Is this (sessionId, epoch) still the live one? Brokers call this to reject zombie producers. */
  async validate(s: Session): Promise<SessionStatus> {
    const site = new CallSite();
    return (await run(this.router, site, { spec: SESSION_MGR, op: 'session.validate', args: sessionRef(s) })).status;
  }

  async close(s: Session): Promise<void> {
    const site = new CallSite();
    await run(this.router, site, { spec: SESSION_MGR, op: 'session.close', args: sessionRef(s) });
  }
}

/** The fields that name a session epoch in a request. */
function sessionRef(s: Session): { sessionId: bigint; epoch: number } {
  if (typeof s !== 'object' || s === null || !Number.isInteger(s.epoch)) throw new InvalidArgumentError('expected a session { sessionId, epoch }');
  return { sessionId: s.sessionId, epoch: s.epoch };
}
