import { REGISTRY, Registry } from '@pharaoh/registry';
/**
 * Client options: exported defaults, one validating parser, and the reconnect
 * backoff. Everything the client does with time goes through `Clock`, so tests
 * can drive it without sleeping.
 */
import { InvalidArgumentError } from './errors.js';
import type { StatusEvent } from './status.js';
import type { Transport } from './transport.js';

/** How long a call may take in total (queueing, retries, failover), in ms. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** How long `connect()` waits for the first hellos, in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * 0 = a batch leaves on the next event-loop turn (setImmediate): every call made
 * in the current turn joins it, and none waits for a timer. A positive window
 * trades latency for bigger batches.
 */
export const DEFAULT_BATCH_WINDOW_MS = 0;
/** Largest number of IDs asked for in one `ts.get` (also capped by the server's `limits.maxCount`). */
export const DEFAULT_MAX_BATCH_SIZE = 4096;
/** First reconnect delay; doubles per failed attempt up to `maxMs`. */
export const DEFAULT_RECONNECT = { initialMs: 100, maxMs: 5_000, jitter: 0.5 } as const;
/** Pause before re-sending a request that met a busy or missing shard. */
export const DEFAULT_RETRY_DELAY_MS = 25;
/**
 * A connection with a request in flight that hears nothing at all from its
 * server for this long is dropped (and reconnected with backoff). Why: a
 * partitioned or powered-off host sends no FIN or RST, so TCP stays "open"
 * for many minutes and every call routed to it would wait out its whole
 * timeout; dropping it lets fresh-ID calls fail over within this time
 * (measured on network namespaces: tools/hosts). Capped at half of `timeoutMs`,
 * so a call still has time to succeed elsewhere. Any frame resets it, so a busy
 * but slow server is not dropped while it answers anything.
 */
export const DEFAULT_SILENCE_MS = 2_000;
/** How long a shard that answered SHARD_UNAVAILABLE is skipped by fresh-ID calls. */
export const DEFAULT_SHARD_QUARANTINE_MS = 1_000;
/**
 * Keyless calls stick to one healthy "home" shard per service, picked at random,
 * and move only when it fails. Why the default: batching coalesces per shard, and
 * a shard's durable time window (~3 s) stays ahead of the clock only while the
 * shard is used; spreading a low call rate over 1024 shards makes nearly every
 * call wait for an fdatasync. Many producers with random homes still spread load.
 */
export const DEFAULT_POLICY: Policy = 'sticky';

export type Policy = 'sticky' | 'round-robin' | 'least-in-flight';
export const POLICIES: readonly Policy[] = ['sticky', 'round-robin', 'least-in-flight'];

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The subset of a pino-style logger the client uses. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export interface ReconnectOptions {
  initialMs?: number;
  maxMs?: number;
  /** 0..1: each delay is reduced by up to this fraction, at random, so clients do not reconnect in lockstep. */
  jitter?: number;
}

/** TLS settings for `wss://` endpoints (passed to Node's TLS client). */
export interface ClientTlsOptions {
  /** CA certificate(s) in PEM to trust instead of Node's default bundle (e.g. a private CA, or a self-signed server certificate). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key in PEM, for servers behind a proxy that checks them (Pharaoh itself does not). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface ClientOptions {
  /**
   * Bearer token sent as `Authorization: Bearer <token>` on every connection's
   * upgrade. A server with authentication on answers HTTP 401 without it.
   */
  token?: string;
  tls?: ClientTlsOptions;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** See DEFAULT_SILENCE_MS (default: the smaller of it and half of `timeoutMs`). */
  silenceMs?: number;
  policy?: Policy;
  batchWindowMs?: number;
  maxBatchSize?: number;
  reconnect?: ReconnectOptions;
  retryDelayMs?: number;
  shardQuarantineMs?: number;
  logger?: Logger;
  /** Status listener registered before connecting, so it also sees the events of `connect()` itself. */
  onStatus?: (e: StatusEvent) => void;
  /** Injected for tests; the default speaks WebSocket through `ws`. */
  transport?: Transport;
  clock?: Clock;
  /** Injected for tests: returns a number in [0, 1). */
  random?: () => number;
  /**
   * The services this client knows (their layouts, ops and routes). Default:
   * `REGISTRY` of @pharaoh/registry; a registry with more services (`REGISTRY.with(...)`)
   * lets `client.service(spec)` call them.
   */
  services?: Registry;
}

export interface ResolvedOptions {
  token: string | undefined;
  tls: ClientTlsOptions | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  silenceMs: number;
  policy: Policy;
  batchWindowMs: number;
  maxBatchSize: number;
  reconnect: Required<ReconnectOptions>;
  retryDelayMs: number;
  shardQuarantineMs: number;
  logger: Logger;
  onStatus: ((e: StatusEvent) => void) | undefined;
  transport: Transport | undefined;
  clock: Clock;
  random: () => number;
  services: Registry;
}

/** Validate options and fill in defaults. Throws InvalidArgumentError naming the option. */
export function parseClientOptions(o: ClientOptions = {}): ResolvedOptions {
  const reconnect = {
    initialMs: int('reconnect.initialMs', o.reconnect?.initialMs, DEFAULT_RECONNECT.initialMs, 1, 3_600_000),
    maxMs: int('reconnect.maxMs', o.reconnect?.maxMs, DEFAULT_RECONNECT.maxMs, 1, 3_600_000),
    jitter: num('reconnect.jitter', o.reconnect?.jitter, DEFAULT_RECONNECT.jitter, 0, 1),
  };
  if (reconnect.maxMs < reconnect.initialMs) {
    throw new InvalidArgumentError(`reconnect.maxMs (${reconnect.maxMs}) must be >= reconnect.initialMs (${reconnect.initialMs})`);
  }
  const policy = o.policy ?? DEFAULT_POLICY;
  if (!POLICIES.includes(policy)) {
    throw new InvalidArgumentError(`policy must be one of ${POLICIES.join(', ')}, got ${String(policy)}`);
  }
  if (o.token !== undefined && (typeof o.token !== 'string' || !/^[\x21-\x7e]+$/.test(o.token))) {
    // Printable ASCII without spaces: anything else would break (or inject into) the HTTP header.
    throw new InvalidArgumentError('token must be a non-empty string of printable ASCII without spaces');
  }
  if (o.services !== undefined && !(o.services instanceof Registry)) throw new InvalidArgumentError('services must be a Registry of @pharaoh/registry');
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw new InvalidArgumentError('tls must be an object like { ca }');
  const timeoutMs = int('timeoutMs', o.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 3_600_000);
  return {
    token: o.token,
    tls: o.tls,
    timeoutMs,
    silenceMs: int('silenceMs', o.silenceMs, Math.max(1, Math.min(DEFAULT_SILENCE_MS, Math.floor(timeoutMs / 2))), 1, 3_600_000),
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1, 3_600_000),
    policy,
    batchWindowMs: int('batchWindowMs', o.batchWindowMs, DEFAULT_BATCH_WINDOW_MS, 0, 60_000),
    maxBatchSize: int('maxBatchSize', o.maxBatchSize, DEFAULT_MAX_BATCH_SIZE, 1, 0x7fff_ffff),
    reconnect,
    retryDelayMs: int('retryDelayMs', o.retryDelayMs, DEFAULT_RETRY_DELAY_MS, 1, 60_000),
    shardQuarantineMs: int('shardQuarantineMs', o.shardQuarantineMs, DEFAULT_SHARD_QUARANTINE_MS, 0, 3_600_000),
    logger: o.logger ?? silentLogger,
    onStatus: o.onStatus,
    transport: o.transport,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    services: o.services ?? REGISTRY,
  };
}

function int(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

function num(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from
 * `initialMs`, capped at `maxMs`, then reduced by a random fraction up to
 * `jitter` so that many clients that lost the same server spread out.
 */
export function backoffDelay(attempt: number, r: Required<ReconnectOptions>, random: () => number): number {
  const exp = Math.min(r.maxMs, r.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(exp * (1 - r.jitter * random())));
}
