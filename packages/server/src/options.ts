import { resolve } from 'node:path';
import { parseShardRanges, expandShardRanges, toShardRanges, MAX_SHARD } from '@pharaoh/protocol';
import type { ShardRanges } from '@pharaoh/protocol';
import { nodeFileSystem, type FileSystem } from '@pharaoh/storage';
import type { Logger } from 'pino';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import type { ServerOptions } from './types.js';
import type { TokenEntry } from './auth.js';

export interface Clock {
  /** ms since the Unix epoch */
  now(): number;
}


/** Per-process resource limits; every one has a default so a bare server is safe to expose. */
export interface ServerLimits {
  /** Largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxFrameBytes: number;
  /** Requests awaiting an answer per connection; more get OVERLOADED. */
  maxInFlight: number;
  /** Largest `count` a batch request may ask for; more get BAD_REQUEST. */
  maxCount: number;
  /** Open WebSocket connections; more are refused at upgrade with HTTP 503. */
  maxConnections: number;
  /**
   * Unsent answers one connection may hold, in bytes (queued plus in the
   * socket's buffer): past it the connection handles and reads no further
   * request until the peer has read. A peer that never reads holds at most this
   * plus the answers of its requests already in flight.
   */
  highWaterBytes: number;
  /** Ping idle peers this often and drop those that did not answer the previous ping (0 = off). */
  pingIntervalMs: number;
  /** Close a connection that sent no request for this long and has none in flight (0 = never). */
  idleTimeoutMs: number;
}

/**
 * 64 KiB: the largest legitimate request is a few hundred bytes (a producer name
 * is ≤ 256 chars), so this leaves room for future fields while bounding memory
 * per frame.
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** 1024: enough to keep a connection busy across a network RTT, small enough to bound memory per peer. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** 65536: 8 full TSO units (13 seq bits); a batch never spans units, so larger asks gain nothing. */
export const DEFAULT_MAX_COUNT = 65_536;
/** 10k connections: well above a DLog cluster's producers per coordinator process. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** 1 MiB of unsent answers per connection before we stop handling and reading its requests. */
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;
/** 30 s: finds dead peers (half-open TCP) within a minute. */
export const DEFAULT_PING_INTERVAL_MS = 30_000;
/**
 * 5 min: a producer that has not asked for anything in five minutes costs a
 * socket and buffers for nothing; the client router reconnects on its next call.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
/** Loopback only: reaching the process from another host is an explicit choice (`--host`). */
export const DEFAULT_HOST = '127.0.0.1';
/** Shards opened at once: enough to overlap fsyncs, few enough to bound fds and memory spikes. */
export const DEFAULT_OPEN_CONCURRENCY = 32;
/** First retry of a failed shard: soon, since freeing space is often quick. */
export const DEFAULT_REOPEN_MIN_MS = 250;
/** Retries of a shard that keeps failing settle at this: a few log lines a minute, not a storm. */
export const DEFAULT_REOPEN_MAX_MS = 30_000;
/** How long a graceful shutdown waits for in-flight requests. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_LOG_LEVEL = 'info';

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxInFlight: DEFAULT_MAX_IN_FLIGHT,
  maxCount: DEFAULT_MAX_COUNT,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  highWaterBytes: DEFAULT_HIGH_WATER_BYTES,
  pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
});

/** Hard bounds a limit is validated against: [min, max]. */
const LIMIT_BOUNDS: Record<keyof ServerLimits, [number, number]> = {
  maxFrameBytes: [256, 64 * 1024 * 1024],
  maxInFlight: [1, 1_000_000],
  maxCount: [1, 0x7fff_ffff],
  maxConnections: [1, 1_000_000],
  highWaterBytes: [1024, 1024 * 1024 * 1024],
  pingIntervalMs: [0, 24 * 3600 * 1000],
  idleTimeoutMs: [0, 7 * 24 * 3600 * 1000],
};

/** TLS for the WebSocket port (and, unless `http: false`, the HTTP port): PEM files. */
export interface TlsOptions {
  certFile: string;
  keyFile: string;
  /** Serve /healthz /readyz /metrics over HTTPS with the same certificate (default true). */
  http?: boolean;
}

/** Accepted bearer tokens. Authentication is on when at least one token is configured. */
export interface AuthOptions {
  /** A file of `role:token` lines (re-read by `RunningServer.reload()`, e.g. on SIGHUP). */
  tokenFile?: string;
  /** Tokens given directly (e.g. parsed from PHARAOH_TOKENS). */
  tokens?: TokenEntry[];
}

export interface ResolvedServerOptions {
  shards: ShardRanges;
  /** The hosted shard ids, ascending. */
  shardIds: number[];
  dataDir: string;
  host: string;
  port: number;
  httpPort: number;
  logLevel: string;
  logger: Logger | undefined;
  clock: Clock;
  windowMs: number | undefined;
  maxLeadMs: number | undefined;
  maxClockSkewMs: number | undefined;
  limits: ServerLimits;
  app: Record<string, unknown>;
  openConcurrency: number;
  reopenBackoff: { minMs: number; maxMs: number };
  shutdownTimeoutMs: number;
  /** The file system of every shard: real files unless a test injected one. */
  fs: FileSystem;
  tls: Required<TlsOptions> | undefined;
  auth: { tokenFile: string | undefined; tokens: TokenEntry[] };
  insecure: boolean;
  /** Export per-shard series on /metrics (off by default: bounded cardinality). */
  metricsPerShard: boolean;
}

function bad(message: string): ServerError {
  return new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, message);
}

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function parseShards(shards: unknown): ShardRanges {
  if (typeof shards === 'string') {
    try {
      return parseShardRanges(shards);
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  if (!Array.isArray(shards) || shards.length === 0) throw bad('shards must be a string like "0-255,512" or ranges');
  const ids: number[] = [];
  for (const r of shards as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2) throw bad('shards: each range must be [lo, hi]');
    const lo = int('shards lo', r[0], 0, MAX_SHARD);
    const hi = int('shards hi', r[1], lo, MAX_SHARD);
    for (let s = lo; s <= hi; s++) ids.push(s);
  }
  return toShardRanges(ids);
}

/** Validate `options`, fill defaults. Throws ServerError BAD_OPTIONS naming the bad field. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) throw bad('options must be an object');
  const shards = parseShards(options.shards);
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) throw bad('dataDir must be a non-empty path');
  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(options.limits ?? {})) {
    if (!(key in LIMIT_BOUNDS)) throw bad(`limits.${key} is not a known limit`);
    if (value === undefined) continue;
    const [min, max] = LIMIT_BOUNDS[key as keyof ServerLimits];
    limits[key as keyof ServerLimits] = int(`limits.${key}`, value, min, max);
  }
  const clock = options.clock ?? { now: Date.now };
  if (typeof clock.now !== 'function') throw bad('clock.now must be a function');
  return {
    shards,
    shardIds: expandShardRanges(shards),
    dataDir: resolve(options.dataDir),
    host: options.host ?? DEFAULT_HOST,
    port: int('port', options.port ?? 0, 0, 65535),
    httpPort: int('httpPort', options.httpPort ?? 0, 0, 65535),
    logLevel: options.logLevel ?? DEFAULT_LOG_LEVEL,
    logger: options.logger,
    clock,
    windowMs: options.windowMs === undefined ? undefined : int('windowMs', options.windowMs, 1, 3_600_000),
    maxLeadMs: options.maxLeadMs === undefined ? undefined : int('maxLeadMs', options.maxLeadMs, 0, 3_600_000),
    maxClockSkewMs: options.maxClockSkewMs === undefined ? undefined : int('maxClockSkewMs', options.maxClockSkewMs, 0, 3_600_000),
    limits,
    app: options.app ?? {},
    openConcurrency: int('openConcurrency', options.openConcurrency ?? DEFAULT_OPEN_CONCURRENCY, 1, 1024),
    reopenBackoff: parseBackoff(options.reopenBackoff),
    shutdownTimeoutMs: int('shutdownTimeoutMs', options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS, 0, 600_000),
    fs: options.fs ?? nodeFileSystem,
    tls: parseTls(options.tls),
    auth: parseAuth(options.auth),
    insecure: options.insecure === true,
    metricsPerShard: parseMetrics(options.metrics),
  };
}

function parseBackoff(b: ServerOptions['reopenBackoff']): { minMs: number; maxMs: number } {
  if (b === undefined) return { minMs: DEFAULT_REOPEN_MIN_MS, maxMs: DEFAULT_REOPEN_MAX_MS };
  if (typeof b !== 'object' || b === null) throw bad('reopenBackoff must be { minMs?, maxMs? }');
  const minMs = int('reopenBackoff.minMs', b.minMs ?? DEFAULT_REOPEN_MIN_MS, 1, 3_600_000);
  const maxMs = int('reopenBackoff.maxMs', b.maxMs ?? Math.max(minMs, DEFAULT_REOPEN_MAX_MS), minMs, 3_600_000);
  return { minMs, maxMs };
}

function parseMetrics(m: ServerOptions['metrics']): boolean {
  if (m === undefined) return false;
  if (typeof m !== 'object' || m === null) throw bad('metrics must be { perShard?: boolean }');
  if (m.perShard !== undefined && typeof m.perShard !== 'boolean') throw bad('metrics.perShard must be a boolean');
  return m.perShard === true;
}

function parseTls(tls: TlsOptions | undefined): Required<TlsOptions> | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw bad('tls must be { certFile, keyFile }');
  if (typeof tls.certFile !== 'string' || tls.certFile === '') throw bad('tls.certFile must be a path to a PEM certificate');
  if (typeof tls.keyFile !== 'string' || tls.keyFile === '') throw bad('tls.keyFile must be a path to a PEM private key');
  return { certFile: resolve(tls.certFile), keyFile: resolve(tls.keyFile), http: tls.http !== false };
}

function parseAuth(auth: AuthOptions | undefined): { tokenFile: string | undefined; tokens: TokenEntry[] } {
  if (auth === undefined) return { tokenFile: undefined, tokens: [] };
  if (auth.tokenFile !== undefined && (typeof auth.tokenFile !== 'string' || auth.tokenFile === '')) throw bad('auth.tokenFile must be a path');
  if (auth.tokens !== undefined && !Array.isArray(auth.tokens)) throw bad('auth.tokens must be a list of { role, token }');
  return { tokenFile: auth.tokenFile === undefined ? undefined : resolve(auth.tokenFile), tokens: [...(auth.tokens ?? [])] };
}
