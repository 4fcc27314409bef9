import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES, SHARD_COUNT, formatShardRanges } from '@pharaoh/protocol';
import type { AdminInfo, Role } from '@pharaoh/protocol';
import { TokenStore, isLoopbackHost } from './auth.js';
import type { AuthResult } from './auth.js';
import { Connection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import { SERVER_NAME, encodeHello } from './hello.js';
import { createOpsServer } from './http.js';
import type { Readiness } from './http.js';
import { ServerMetrics } from './metrics.js';
import type { GeneratorTotals } from './metrics.js';
import { resolveServerOptions } from './options.js';
import type { ResolvedServerOptions } from './options.js';
import { openShards, type HostedShards } from './shards.js';
import { ShardMoves } from './moves.js';
import type { HostedShard } from './shards.js';
import { createPortServer, readTls, setTls } from './tls.js';
import type { TlsMaterial } from './tls.js';
import type { ServiceSpec } from '@pharaoh/registry';
import type { HostedService, RunningServer, ServerOptions, ServiceDefinition, ShardStats } from './types.js';

/** /readyz names the cause of this many unavailable shards at most (a failed bound fails all 1024). */
const READINESS_CAUSES = 8;

/** One line for /readyz: the deepest errno-style code, then the message, cut to a readable length. */
function describeFailure(err: Error): string {
  let code: unknown;
  for (let e: unknown = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z]+$/.test(c)) code = c;
  }
  const msg = err.message.split('\n')[0]!.slice(0, 200);
  return typeof code === 'string' && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

/** After in-flight requests were answered, how long peers get to finish the close handshake. */
const CLOSE_HANDSHAKE_MS = 2_000;

function checkDefinition(def: HostedService<unknown>): void {
  const bad = (m: string): ServerError => new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, `service definition: ${m}`);
  if (typeof def !== 'object' || def === null) throw bad('must be an object');
  const spec = def.spec as ServiceDefinition['spec'] | undefined;
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string') throw bad('spec must be a service of @pharaoh/registry');
  if (!spec.layout || typeof spec.layout.shardOf !== 'function') throw bad(`${spec.name}: spec.layout must be a snowflake Layout`);
  if (typeof def.handlers !== 'object' || def.handlers === null) throw bad(`${spec.name}: handlers must be an object`);
  const handlers = def.handlers as Record<string, unknown>;
  for (const op of Object.keys(spec.ops)) if (typeof handlers[op] !== 'function') throw bad(`${spec.name}: no handler for op ${op}`);
  for (const op of Object.keys(handlers)) if (!(op in spec.ops)) throw bad(`${spec.name}: handler for ${op}, which is not an op of the service`);
}

/**
 * Check the app's options with its own parser. Runs before any file is
 * touched, so a refused start leaves nothing behind.
 */
export function parseAppOptions(def: HostedService<unknown>, app: Record<string, unknown>): unknown {
  if (def.parseOptions === undefined) return app;
  try {
    return (def.parseOptions as (app: Record<string, unknown>) => unknown)(app);
  } catch (err) {
    if (err instanceof ServerError) throw err;
    throw new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, `${def.spec.name} options: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function listen(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new ServerError(SERVER_ERROR_CODES.LISTEN_FAILED, `${what}: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * Open every shard in `options.shards` (lock, identity, counter, generator, app
 * state), then listen: WebSocket on `port`, ops HTTP on `httpPort`. Rejects
 * with a ServerError (and leaves no shard locked) if any shard cannot be opened
 * or a port cannot be bound.
 */
export async function startServer<Spec extends ServiceSpec, S, O>(definition: ServiceDefinition<Spec, S, O>, options: ServerOptions): Promise<RunningServer> {
  const def: HostedService<S> = definition;
  checkDefinition(def);
  const opts = resolveServerOptions(options);
  const app = parseAppOptions(def, opts.app);
  const logger = (opts.logger ?? pino({ level: opts.logLevel })).child({ service: def.spec.name });
  // Checked before any shard is locked: a refused start leaves nothing behind.
  const tokens = new TokenStore(opts.auth.tokenFile, opts.auth.tokens);
  checkExposure(opts, tokens, logger);
  const tls = opts.tls === undefined ? undefined : readTls(opts.tls.certFile, opts.tls.keyFile);
  const started = performance.now();
  const byId: Array<HostedShard<S> | undefined> = new Array<HostedShard<S> | undefined>(SHARD_COUNT).fill(undefined);
  const metrics = new ServerMetrics(def.spec.name, { perShard: opts.metricsPerShard });
  if (tls !== undefined) metrics.certificateLoaded(tls.cert);
  // A failed shard that reopens itself takes its place in the routing table.
  const onReopened = (s: HostedShard<S>): void => {
    byId[s.id] = s;
  };
  const hosted = await openShards({ def, app, options: opts, metrics, logger, onReopened }, opts.shardIds);
  for (const [id, s] of hosted.shards) byId[id] = s;
  const openMs = performance.now() - started;
  try {
    return await listenAll(def, { opts, byId, hosted, metrics, logger, openMs, tokens, tls });
  } catch (err) {
    await hosted.close();
    throw err;
  }
}

/**
 * The safe-default rule: a process reachable from other hosts must demand a
 * token, unless the operator said `insecure` explicitly. Tokens without TLS on
 * such a host travel in clear text: allowed (TLS may end at a proxy), but warned.
 */
function checkExposure(opts: ResolvedServerOptions, tokens: TokenStore, logger: Logger): void {
  if (isLoopbackHost(opts.host)) return;
  if (!tokens.enabled && !opts.insecure) {
    throw new ServerError(
      SERVER_ERROR_CODES.INSECURE_LISTEN,
      `refusing to listen on ${opts.host} without authentication: anyone who can reach this address could issue IDs, ` +
        'abort transactions and fence sessions. Configure tokens (--token-file / PHARAOH_TOKEN_FILE, or PHARAOH_TOKENS), ' +
        'listen on 127.0.0.1, or pass --insecure (PHARAOH_INSECURE=1) to accept the risk',
    );
  }
  if (!tokens.enabled) logger.warn({ host: opts.host }, 'listening on a non-loopback address WITHOUT authentication (--insecure)');
  else if (opts.tls === undefined) logger.warn({ host: opts.host }, 'tokens will cross the network in clear text: no TLS configured');
}

function generatorTotals(shards: ReadonlyArray<HostedShard<unknown> | undefined>): GeneratorTotals {
  const t: GeneratorTotals = { clockRegressions: 0, windowWaits: 0, leadWaits: 0 };
  for (const s of shards) {
    if (s === undefined) continue;
    const st = s.generator.stats;
    t.clockRegressions += st.clockRegressions;
    t.windowWaits += st.boundWaits;
    t.leadWaits += st.leadWaits;
  }
  return t;
}

/** Each open shard's app figures (the service's `stats` hook), read at scrape time. */
function* appStats<S>(def: HostedService<S>, shards: ReadonlyArray<HostedShard<S> | undefined>): Iterable<ShardStats> {
  if (def.stats === undefined) return;
  for (const s of shards) {
    if (s === undefined || s.handle === undefined || s.status === 'closed') continue;
    try {
      yield def.stats(s.handle.state);
    } catch {
      // A metrics hook must not break a scrape.
    }
  }
}

interface Listening<S> {
  opts: ResolvedServerOptions;
  byId: Array<HostedShard<S> | undefined>;
  hosted: HostedShards<S>;
  metrics: ServerMetrics;
  logger: Logger;
  openMs: number;
  tokens: TokenStore;
  tls: TlsMaterial | undefined;
}

async function listenAll<S>(def: HostedService<S>, l: Listening<S>): Promise<RunningServer> {
  const { opts, byId, hosted, metrics, logger, openMs, tokens } = l;
  const startedAt = performance.now();
  const dispatcher = new Dispatcher<S>(def, byId, opts, metrics, logger);
  // A move changes what this process hosts: new connections get the hello of the moment.
  let hello = encodeHello(def.spec.name, opts.shards, def.spec.layout, opts.limits);
  const moves = new ShardMoves<S>(def, hosted, byId, logger, opts.fs, opts.shardIds, () => {
    const now = moves.ranges;
    hello = encodeHello(def.spec.name, now, def.spec.layout, opts.limits);
    dispatcher.setShards(now);
  });
  dispatcher.moveOp = (op, frame) => moves.run(op, frame);
  dispatcher.movedTo = moves.movedTo;
  const connections = new Set<Connection>();
  let closing = false;

  /** undefined when authentication is off; failures are counted and logged (never the token). */
  const authorize = (req: IncomingMessage): AuthResult | undefined => {
    if (!tokens.enabled) return undefined;
    const r = tokens.check(req.headers.authorization);
    if (!r.ok) {
      metrics.authFailed(r.reason);
      logger.warn({ reason: r.reason, remote: req.socket.remoteAddress, path: (req.url ?? '').split('?')[0] }, 'authentication failed');
    }
    return r;
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.limits.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // Pings are answered by Connection, through its bounded answer queue (ws would buffer pongs without limit, or cut the peer off).
    autoPong: false,
  });
  const wsHttp = createPortServer(l.tls, (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('this port speaks WebSocket only\n');
  });
  wsHttp.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (closing || connections.size >= opts.limits.maxConnections) {
      metrics.rejected(closing ? 'shutting_down' : 'connection_limit');
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const auth = authorize(req);
    if (auth !== undefined && !auth.ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="pharaoh"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const role: Role = auth === undefined ? 'admin' : auth.role;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ws, dispatcher as Dispatcher<unknown>, opts.limits, metrics, logger, role);
      connections.add(conn);
      metrics.connections.inc();
      metrics.connectionsTotal.inc();
      ws.once('close', () => {
        connections.delete(conn);
        metrics.connections.dec();
      });
      conn.send(hello);
    });
  });

  const readiness = (): Readiness => {
    const unavailable: number[] = [];
    // A shard in the middle of a move is not a reason to restart or unroute the process.
    for (const id of moves.hosted) if (!moves.isMoving(id) && byId[id]?.available !== true) unavailable.push(id);
    unavailable.sort((a, b) => a - b);
    if (unavailable.length === 0) return { ready: !closing, closing, unavailable };
    const causes: Record<string, string> = {};
    for (const id of unavailable.slice(0, READINESS_CAUSES)) {
      const f = byId[id]!.failure;
      if (f !== undefined) causes[String(id)] = describeFailure(f);
    }
    return { ready: false, closing, unavailable, causes };
  };
  metrics.attach({
    dataDir: opts.dataDir,
    generators: () => generatorTotals(byId),
    shards: () => ({ hosted: moves.hosted.size, unavailable: readiness().unavailable.length }),
    appStats: () => appStats(def, byId),
    inFlight: () => dispatcher.inFlight,
    tokens: () => tokens.countByRole(),
  });
  dispatcher.adminInfo = (): AdminInfo => ({
    service: def.spec.name,
    server: SERVER_NAME,
    pid: process.pid,
    uptimeMs: Math.round(performance.now() - startedAt),
    shards: moves.ranges,
    unavailable: readiness().unavailable,
    connections: connections.size,
    inFlight: dispatcher.inFlight,
    ...bufferedBytes(connections),
    limits: { ...opts.limits },
    tls: l.tls !== undefined,
    auth: tokens.enabled,
  });
  const opsTls = opts.tls?.http === false ? undefined : l.tls;
  const ops = createOpsServer(metrics, readiness, logger, authorize, opsTls);
  let port: number;
  let httpPort: number;
  try {
    port = await listen(wsHttp, opts.host, opts.port, 'WebSocket port');
    httpPort = await listen(ops, opts.host, opts.httpPort, 'HTTP port');
  } catch (err) {
    wsHttp.close();
    ops.close();
    throw err;
  }

  // After listening, a server error (e.g. EMFILE on accept) must be logged, not crash the process.
  wsHttp.on('error', (err) => logger.error({ err }, 'WebSocket port error'));
  ops.on('error', (err) => logger.error({ err }, 'HTTP port error'));
  wsHttp.on('clientError', (_err, socket) => socket.destroy());
  const heartbeat = opts.limits.pingIntervalMs > 0 ? setInterval(() => ping(connections), opts.limits.pingIntervalMs).unref() : undefined;
  const idleMs = opts.limits.idleTimeoutMs;
  // One sweep for all connections instead of a timer per connection reset on every request.
  const idleSweep = idleMs > 0 ? setInterval(() => closeIdle(connections, idleMs, metrics), Math.max(10, Math.min(idleMs / 4, 5_000))).unref() : undefined;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `${l.tls ? 'wss' : 'ws'}://${hostPart}:${port}`;
  const httpUrl = `${opsTls ? 'https' : 'http'}://${hostPart}:${httpPort}`;
  logger.info(
    {
      port,
      httpPort,
      url,
      httpUrl,
      host: opts.host,
      tls: l.tls !== undefined,
      auth: tokens.enabled ? `${tokens.size} token(s)` : 'off',
      shards: formatShardRanges(opts.shards),
      shardCount: opts.shardIds.length,
      openMs: Math.round(openMs),
      firstOpens: hosted.start.firstOpens,
      replayedRecords: hosted.start.replayedRecords,
      slowestShard: hosted.start.slowestShard?.shard,
      slowestShardMs: hosted.start.slowestShard?.ms,
    },
    'listening',
  );
  const reload = (): void => {
    let tls: TlsMaterial | undefined;
    try {
      tls = opts.tls === undefined ? undefined : readTls(opts.tls.certFile, opts.tls.keyFile);
      tokens.reload();
    } catch (err) {
      metrics.reloads.inc({ result: 'failed' });
      throw err;
    }
    if (tls !== undefined) {
      setTls(wsHttp, tls);
      if (opsTls !== undefined) setTls(ops, tls);
      metrics.certificateLoaded(tls.cert);
    }
    metrics.reloads.inc({ result: 'ok' });
    logger.info({ tokens: tokens.size, tls: tls !== undefined }, 'reloaded tokens and TLS certificate');
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      dispatcher.closing = true;
      if (heartbeat) clearInterval(heartbeat);
      if (idleSweep) clearInterval(idleSweep);
      wsHttp.close();
      logger.info({ inFlight: dispatcher.inFlight }, 'shutting down: answering in-flight requests');
      const drained = await Promise.race([dispatcher.whenIdle().then(() => true), delay(opts.shutdownTimeoutMs).then(() => false)]);
      if (!drained) logger.warn({ inFlight: dispatcher.inFlight }, 'shutdown timeout: closing with requests still in flight');
      await new Promise((r) => setImmediate(r)); // let corked answers flush
      await closeConnections(connections);
      await hosted.close();
      ops.closeAllConnections();
      await new Promise<void>((r) => ops.close(() => r()));
      logger.info('stopped');
    })();
    return closed;
  };
  return {
    port,
    httpPort,
    url,
    httpUrl,
    get shards() {
      return moves.ranges;
    },
    openMs,
    start: hosted.start,
    reload,
    close,
  };
}

/** Unsent answer bytes over all connections, and the most on one. */
function bufferedBytes(connections: Set<Connection>): { bufferedBytes: number; maxBufferedBytes: number } {
  let total = 0;
  let max = 0;
  for (const c of connections) {
    const b = c.buffered;
    total += b;
    if (b > max) max = b;
  }
  return { bufferedBytes: total, maxBufferedBytes: max };
}

/** Close connections that sent no request for `idleMs` and wait for no answer. */
function closeIdle(connections: Set<Connection>, idleMs: number, metrics: ServerMetrics): void {
  const now = performance.now();
  for (const c of connections) {
    if (c.inFlight === 0 && now - c.lastActive >= idleMs && c.ws.readyState === 1) {
      metrics.rejected('idle_timeout');
      c.close(CLOSE_CODES.NORMAL, 'idle timeout');
    }
  }
}

function ping(connections: Set<Connection>): void {
  for (const c of connections) {
    if (!c.alive) {
      c.ws.terminate();
      continue;
    }
    c.alive = false;
    c.ws.ping();
  }
}

async function closeConnections(connections: Set<Connection>): Promise<void> {
  const all = [...connections];
  const done = Promise.all(all.map((c) => new Promise<void>((r) => (c.ws.readyState === 3 ? r() : c.ws.once('close', () => r())))));
  for (const c of all) c.close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
  const ok = await Promise.race([done.then(() => true), delay(CLOSE_HANDSHAKE_MS).then(() => false)]);
  if (!ok) for (const c of connections) c.ws.terminate();
}
