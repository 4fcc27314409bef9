import type { RestoreMark } from './shard-dir.js';
import type { Logger } from 'pino';
import type { IdGenerator } from '@pharaoh/snowflake';
import type { ShardRanges } from '@pharaoh/protocol';
import type { OpsOf, ServiceArgs, ServiceResult, ServiceSpec } from '@pharaoh/registry';
import type { FileSystem } from '@pharaoh/storage';
import type { ResolvedServerOptions, ServerLimits, Clock, TlsOptions, AuthOptions } from './options.js';

export type { Logger };

/**
 * What an app gives the host: its registry entry (name, layout, ops and how
 * each is routed), its options, its per-shard state and one handler per op.
 * The host owns everything else: shard directories, locks, generators,
 * routing, limits, metrics, logs and shutdown.
 *
 * `S`: the app's per-shard state; `O`: its parsed options.
 */
export interface ServiceDefinition<Spec extends ServiceSpec = ServiceSpec, S = unknown, O = unknown> {
  /** The service's entry in `@pharaoh/registry`. */
  spec: Spec;
  /**
   * The one validating parser of the app's options (`ServerOptions.app`, or
   * its command-line flags as strings). Called before anything touches the
   * disk: a start with bad options leaves nothing behind. Throw an Error with
   * a message naming the option.
   */
  parseOptions?(app: Record<string, unknown>): O;
  /**
   * Extra command-line options of this app (added to the shared ones). Parsed
   * values land in `ServerOptions.app` under commander's camelCase name
   * (`--default-timeout-ms` → `app.defaultTimeoutMs`), as strings.
   */
  cliOptions?: readonly CliOption[];
  /**
   * Per-shard app state, opened after the host locked the shard dir, checked its
   * identity file and opened the shard's IdGenerator.
   */
  openShard?(ctx: ShardContext<O>): Promise<S>;
  /** Called at shutdown after in-flight requests were answered (flush/close journals here). */
  closeShard?(state: S, ctx: ShardContext<O>): Promise<void>;
  /**
   * Optional: called instead of `closeShard` when a graceful shard move
   * releases the shard (`admin.shards.release`, after its requests in flight
   * were answered), to keep state that a stop or a crash does not keep — for
   * txcoord, its open transactions, whose begins are not journaled. It must
   * close the state as `closeShard` does, and make whatever it keeps durable
   * in the shard's own files (its journal) before it resolves: the host
   * writes the `released` mark only after it resolved, and the next open of
   * the shard (the target's claim, a claim back on the source, a restart)
   * finds it there. Whatever it writes must be safe to find after a crash at
   * any point of it and of the release (the next holder then resumes as after
   * a crash, or with what was kept — never with a mix that contradicts what
   * was answered). A rejection makes the release inexact (the next holder
   * resumes as after a crash).
   */
  releaseShard?(state: S, ctx: ShardContext<O>): Promise<void>;
  /** One handler per op of the spec; the host routed the request to `shard` (by the op's route) and checked its fields. */
  handlers: Handlers<Spec, S, O>;
  /**
   * What `/metrics` reads from a shard's state when it is scraped, summed over
   * the process's shards (never per shard): its journal, and how many
   * transactions or sessions are open. Called at scrape time only; must be
   * cheap and must not throw.
   */
  stats?(state: S): ShardStats;
}

/** A shard's app-level figures for `/metrics` (each field only where the service has it). */
export interface ShardStats {
  /** The shard's journal (a `@pharaoh/journal` Journal fits). */
  journal?: {
    readonly sizeBytes: number;
    readonly stats: { readonly compactions: number; readonly syncs: number; readonly appends: number; readonly recoveredRecords?: number };
  };
  /** txcoord: transactions begun and not yet decided. */
  openTransactions?: number;
  /** session-mgr: sessions neither closed, fenced nor expired. */
  liveSessions?: number;
  /** group-coord: consumer groups known (with members or committed offsets). */
  groups?: number;
  /** group-coord: members of those groups. */
  groupMembers?: number;
}

/**
 * Answer one request. Throw ProtocolError (from @pharaoh/protocol) for domain
 * errors (TX_ABORTED, SESSION_FENCED, OVERLOADED, ...). Other errors are
 * answered by their `kind` (see errors.ts): `storage` fails the shard
 * (SHARD_UNAVAILABLE), `unavailable` answers SHARD_UNAVAILABLE,
 * `bad_request` BAD_REQUEST; anything else is a bug: INTERNAL (logged).
 */
export type OpHandler<A, R, S, O = unknown> = (args: A, shard: ShardHandle<S, O>) => Promise<R> | R;

export type Handlers<Spec extends ServiceSpec, S, O> = {
  [K in OpsOf<Spec>]: OpHandler<ServiceArgs<Spec, K>, ServiceResult<Spec, K>, S, O>;
};

/**
 * A definition with its types erased, as the host holds it: any
 * `ServiceDefinition` is one (its methods take the erased context).
 */
export interface HostedService<S = unknown> {
  spec: ServiceSpec;
  parseOptions?(app: Record<string, unknown>): unknown;
  cliOptions?: readonly CliOption[];
  openShard?(ctx: ShardContext<unknown>): Promise<S>;
  closeShard?(state: S, ctx: ShardContext<unknown>): Promise<void>;
  releaseShard?(state: S, ctx: ShardContext<unknown>): Promise<void>;
  handlers: object;
  stats?(state: S): ShardStats;
}

export interface CliOption {
  /** Commander flags, e.g. `--default-timeout-ms <ms>`. */
  flags: string;
  description: string;
  /** Environment variable used when the flag is absent, e.g. `PHARAOH_DEFAULT_TIMEOUT_MS`. */
  env?: string;
  defaultValue?: string;
}

export interface ShardContext<O = unknown> {
  /** shard id 0..1023 */
  id: number;
  /** <data>/<service>/shard-<id>/  (exists, locked, identity checked) */
  dir: string;
  /** this shard's monotonic generator (layout of the service) */
  generator: IdGenerator;
  /** pino child logger with { service, shard } */
  logger: Logger;
  /**
   * The file system every durable structure of this shard must use (the
   * server's `fs` option: real files, or the crash simulator in tests).
   */
  fs: FileSystem;
  /**
   * True when this open replaces the shard after it failed (a full disk, an
   * I/O error): a journal must then be written anew before serving (the
   * journal's `rewrite` option), since the page cache may show bytes whose
   * write-back failed.
   */
  recovering: boolean;
  /** Set when `pharaoh restore` put this shard back from a backup (see RestoreMark). */
  restored: RestoreMark | undefined;
  /**
   * True when the shard's bound was above 0 at open: its generator has issued
   * IDs before, so any state the app keeps on disk (a journal) must already
   * exist. A journaled app refuses to start an empty one then (presumed abort
   * would turn committed transactions into aborted ones). Only asking the
   * generator for an ID moves the bound, so an app that creates its durable
   * state in `openShard` before it asks for any ID keeps this rule true.
   */
  servedBefore: boolean;
  /** injected clock (ms since Unix epoch), Date.now by default */
  clock: Clock;
  options: ResolvedServerOptions;
  /** The app's options, as its `parseOptions` returned them. */
  app: O;
  /** Mark this shard unavailable (e.g. its journal failed): later requests get SHARD_UNAVAILABLE. */
  fail(err: Error): void;
  /**
   * Run `task` every `intervalMs` for the life of the shard (e.g. expiry sweeps).
   * A run never overlaps the previous one; a rejected run fails the shard; the
   * host stops the timer before `closeShard`. The timer does not keep the process alive.
   */
  every(intervalMs: number, task: () => Promise<unknown>): void;
  /** Pass as the journal's `onSync`: `/metrics` shows its fdatasync latency (`pharaoh_fsync_duration_seconds{kind="journal"}`). */
  onJournalSync(info: { ms: number }): void;
}

export interface ShardHandle<S, O = unknown> extends ShardContext<O> {
  state: S;
}

export interface ServerOptions {
  /** '0-255,512' or parsed ranges */
  shards: string | ShardRanges;
  /** shards live in <dataDir>/<service>/shard-<id>/ */
  dataDir: string;
  /** default '127.0.0.1' */
  host?: string;
  /** WebSocket port; 0 = any free port (default 0) */
  port?: number;
  /** /healthz /readyz /metrics; 0 = any free port (default 0) */
  httpPort?: number;
  logLevel?: string;
  logger?: Logger;
  clock?: Clock;
  /** generator bound window in ms */
  windowMs?: number;
  /** how far (ms) a generator may borrow from the future before callers wait */
  maxLeadMs?: number;
  /** how far (ms) another shard's clock may be ahead of this one's: see the `after` rule in docs/PROTOCOL.md */
  maxClockSkewMs?: number;
  limits?: Partial<ServerLimits>;
  /** Service-specific options (e.g. txcoord default timeout, retention), checked by the service's `parseOptions`. */
  app?: Record<string, unknown>;
  /** Shards opened at once during start (default 32). */
  openConcurrency?: number;
  /**
   * A failed shard (a full disk, an I/O error) reopens itself after this
   * backoff, doubling from `minMs` to `maxMs` (±20% jitter) while it keeps
   * failing. Default 250 ms to 30 s.
   */
  reopenBackoff?: { minMs?: number; maxMs?: number };
  /** How long close() waits for in-flight requests before closing connections anyway (ms). */
  shutdownTimeoutMs?: number;
  /**
   * Test-only: the file system of every shard (identity, bound, journal), e.g.
   * the crash simulator of `@pharaoh/storage/testing`. Default: real files.
   */
  fs?: FileSystem;
  /** Serve wss:// (and https:// on the HTTP port) with this certificate. */
  tls?: TlsOptions;
  /** Bearer tokens; when none is configured, every connection may do everything. */
  auth?: AuthOptions;
  /**
   * Allow listening on a non-loopback host without any token. Without it, such a
   * start is refused: anyone who can reach the port could begin and abort
   * transactions, fence sessions and exhaust shards.
   */
  insecure?: boolean;
  /** `/metrics` options; see {@link MetricsOptions}. */
  metrics?: MetricsOptions;
}

export interface MetricsOptions {
  /**
   * Also export per-shard series (`pharaoh_shard_up`, `pharaoh_shard_requests_total`,
   * and a `shard` label on `pharaoh_ids_issued_total`). Off by default: a
   * 1024-shard process would add thousands of series per scrape.
   */
  perShard?: boolean;
}

/** One process start, summed over its shards (logged once, in the `listening` line). */
export interface StartSummary {
  /** Shards opened. */
  shards: number;
  /** Of those, shards opened for the first time (identity written or completed now). */
  firstOpens: number;
  /** Journal records replayed, all shards together (0 for services without a journal). */
  replayedRecords: number;
  /** The shard whose open took longest (claim + app state), and how long. */
  slowestShard: { shard: number; ms: number } | undefined;
}

export interface RunningServer {
  port: number;
  httpPort: number;
  /** ws://host:port, or wss:// with TLS */
  url: string;
  /** http(s)://host:httpPort */
  httpUrl: string;
  shards: ShardRanges;
  /** How long opening every hosted shard took at start (ms). */
  openMs: number;
  /** What the start did, for its one summary log line. */
  start: StartSummary;
  /**
   * Re-read the token file and the TLS certificate and key (SIGHUP). New
   * connections use the new ones; open connections stay. Throws (keeping the
   * old ones) if a file is unreadable or malformed.
   */
  reload(): void;
  /** Graceful: stop accepting, answer in-flight requests, close shards, release locks. Idempotent. */
  close(): Promise<void>;
}
