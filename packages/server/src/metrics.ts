import { X509Certificate } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { AuthFailure } from './auth.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo } from './build-info.js';
import { CollectedMetric, registerCollected, single } from './collected.js';
import { HotMetrics } from './hot-metrics.js';
import type { ShardOpStats } from './hot-metrics.js';
import type { ShardStats } from './types.js';

/** fsync buckets in seconds: 50 µs (battery-backed cache) to 2.5 s (a failing disk). */
const FSYNC_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/** Generator counters summed over the hosted shards, read when /metrics is scraped. */
export interface GeneratorTotals {
  clockRegressions: number;
  windowWaits: number;
  leadWaits: number;
}

/**
 * What the host shows /metrics at scrape time, once its shards are open
 * (before `attach`, these series are absent). Every figure is per process:
 * nothing here is labelled by shard.
 */
export interface HostView {
  /** The data directory (its file system's free space is exported). */
  dataDir: string;
  generators(): GeneratorTotals;
  /** Hosted shards and how many of them do not serve (failed or closing). */
  shards(): { hosted: number; unavailable: number };
  /** Every hosted shard's app figures (the service's `stats` hook), to be summed. */
  appStats(): Iterable<ShardStats>;
  /** Requests being handled, all connections. */
  inFlight(): number;
  /** Accepted tokens by role (empty when authentication is off). */
  tokens(): Array<{ role: string; count: number }>;
}

/** Which durable write an fsync sample belongs to. */
export type FsyncKind = 'bound' | 'journal';

/**
 * The process's Prometheus metrics, in a registry of its own (several servers
 * may live in one test process). Label values never come from client input:
 * ops are checked against the service's list first, everything else is
 * 'unknown', so a hostile client cannot blow up the series count. No series
 * is labelled by shard unless `perShard` is on (1024 shards would otherwise
 * add thousands of series to every scrape).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Request-path counters (plain numbers, read at scrape time). */
  readonly hot: HotMetrics;
  readonly fsync: Histogram<'kind'>;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly framesRejected: Counter<'reason'>;
  /** Per shard: registered (exported) only with `perShard`; setting it is harmless either way. */
  readonly shardUp: Gauge<'shard'>;
  readonly pausedConnections: Gauge;
  readonly pauses: Counter;
  readonly authFailures: Counter<'reason'>;
  readonly reloads: Counter<'result'>;
  private readonly shardFailures: Counter;
  private readonly shardReopens: Counter<'result'>;
  private readonly certificateNotAfter: Gauge;
  private view: HostView | undefined;

  constructor(service: string, options: { perShard?: boolean } = {}) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service });
    // process_start_time_seconds, process_resident_memory_bytes, process_cpu_seconds_total, nodejs_* ...
    collectDefaultMetrics({ register: this.registry });
    this.hot = new HotMetrics(this.registry, options.perShard === true);
    this.fsync = new Histogram({
      name: 'pharaoh_fsync_duration_seconds',
      help: 'Duration of fdatasyncs, by kind: bound (the process time bound, one per window) or journal (group commits of txcoord/session-mgr journals).',
      labelNames: ['kind'],
      buckets: FSYNC_BUCKETS,
      registers,
    });
    this.connections = new Gauge({ name: 'pharaoh_connections', help: 'Open WebSocket connections.', registers });
    this.connectionsTotal = new Counter({ name: 'pharaoh_connections_total', help: 'WebSocket connections accepted.', registers });
    this.framesRejected = new Counter({ name: 'pharaoh_frames_rejected_total', help: 'Connections closed or requests refused for a bad frame or a limit, by reason.', labelNames: ['reason'], registers });
    this.shardUp = new Gauge({
      name: 'pharaoh_shard_up',
      help: '1 while a hosted shard serves, 0 when it failed or is closing (only with per-shard metrics on).',
      labelNames: ['shard'],
      registers: options.perShard === true ? registers : [],
    });
    this.pausedConnections = new Gauge({ name: 'pharaoh_backpressure_paused_connections', help: 'Connections whose reading is paused because their answers are not being read.', registers });
    this.authFailures = new Counter({ name: 'pharaoh_auth_failures_total', help: 'Refused credentials: missing, malformed or wrong token at the upgrade or on /metrics, or a role without permission (forbidden).', labelNames: ['reason'], registers });
    this.pauses = new Counter({ name: 'pharaoh_backpressure_pauses_total', help: 'Times a connection was paused for back-pressure.', registers });
    this.reloads = new Counter({ name: 'pharaoh_reloads_total', help: 'Reloads of the token file and TLS certificate (SIGHUP), by result: ok or failed (the previous ones stay in use).', labelNames: ['result'], registers });
    this.shardFailures = new Counter({
      name: 'pharaoh_shard_failures_total',
      help: 'Times a hosted shard failed (a storage error: its counter, bound or journal refused to go on) and stopped serving until reopened.',
      registers,
    });
    this.shardReopens = new Counter({
      name: 'pharaoh_shard_reopens_total',
      help: 'Failed shards reopened by the process, by result: ok (serving again) or given_up (locked elsewhere or identity changed: until restart).',
      labelNames: ['result'],
      registers,
    });
    this.certificateNotAfter = new Gauge({ name: 'pharaoh_tls_certificate_expiry_timestamp_seconds', help: 'notAfter of the TLS certificate in use (Unix seconds); absent without TLS.', registers: [] });
    // Known label values start at 0, so increase() sees the first event and a query finds the series before it.
    for (const result of ['ok', 'given_up'] as const) this.shardReopens.inc({ result }, 0);
    for (const result of ['ok', 'failed'] as const) this.reloads.inc({ result }, 0);
    const info = buildInfo();
    new Gauge({ name: 'pharaoh_build_info', help: 'Always 1; the labels say which release (version), git commit and Node.js version run.', labelNames: ['version', 'commit', 'node'], registers }).set(
      { version: info.version, commit: info.commit, node: info.node },
      1,
    );
    this.registerHostMetrics();
  }

  /** Start exporting what the host knows (shards, generators, apps, disk): called once the shards are open. */
  attach(view: HostView): void {
    this.view = view;
  }

  /** Record the certificate now in use (at start and on every reload); its expiry becomes a gauge. */
  certificateLoaded(certPem: Buffer): void {
    const notAfter = Date.parse(new X509Certificate(certPem).validTo);
    if (!Number.isFinite(notAfter)) return;
    // Registered on the first certificate: without TLS the series is absent, not 0 (which would read as "expired").
    if (this.registry.getSingleMetric('pharaoh_tls_certificate_expiry_timestamp_seconds') === undefined) this.registry.registerMetric(this.certificateNotAfter);
    this.certificateNotAfter.set(Math.floor(notAfter / 1000));
  }

  /** Count an answered request. `op` must already be a known op or 'unknown'. */
  answered(op: string, outcome: string, seconds: number): void {
    this.hot.op(op).observe(outcome, seconds);
  }

  /** Count a request answered ok (the common case: no outcome lookup). */
  answeredOk(op: string, seconds: number): void {
    this.hot.op(op).observeOk(seconds);
  }

  /** The counters of one (shard, op) pair; callers cache the object. */
  shardOp(op: string, shard: number): ShardOpStats {
    return this.hot.shardOp(shard, op);
  }

  /** One completed fdatasync of `kind`, `ms` long. */
  synced(kind: FsyncKind, ms: number): void {
    this.fsync.observe({ kind }, ms / 1000);
  }

  /** A hosted shard failed (storage error). */
  shardFailed(): void {
    this.shardFailures.inc();
  }

  /** A failed shard was reopened, or given up until restart. */
  shardReopened(result: 'ok' | 'given_up'): void {
    this.shardReopens.inc({ result });
  }

  authFailed(reason: AuthFailure): void {
    this.authFailures.inc({ reason });
  }

  rejected(reason: 'text' | 'undecodable' | 'oversized' | 'overloaded' | 'connection_limit' | 'shutting_down' | 'idle_timeout'): void {
    this.framesRejected.inc({ reason });
  }

  /** Series read from the host view at scrape time; absent until `attach`. */
  private registerHostMetrics(): void {
    const reg = (name: string, help: string, type: 'counter' | 'gauge', value: (v: HostView) => number | undefined): void => {
      registerCollected(this.registry, new CollectedMetric(name, help, type, () => single(this.view === undefined ? undefined : value(this.view))));
    };
    reg('pharaoh_clock_regressions_total', 'Times a generator saw the wall clock go backwards (IDs kept increasing).', 'counter', (v) => v.generators().clockRegressions);
    reg('pharaoh_window_waits_total', 'Times a caller waited for the durable time bound to advance (window exhausted: a bound fsync on the request path).', 'counter', (v) => v.generators().windowWaits);
    reg('pharaoh_lead_waits_total', 'Times a caller waited because borrowed time ran more than the maximum lead ahead of the clock.', 'counter', (v) => v.generators().leadWaits);
    reg('pharaoh_shards_hosted', 'Shards this process hosts.', 'gauge', (v) => v.shards().hosted);
    reg('pharaoh_shards_unavailable', 'Hosted shards that do not serve (failed storage, or closing): their requests get SHARD_UNAVAILABLE.', 'gauge', (v) => v.shards().unavailable);
    reg('pharaoh_requests_in_flight', 'Requests being handled, all connections.', 'gauge', (v) => v.inFlight());
    const app = (key: 'openTransactions' | 'liveSessions' | 'groups' | 'groupMembers' | 'journalBytes' | 'compactions' | 'syncs' | 'appends') => (v: HostView): number | undefined => sumApp(v.appStats(), key);
    reg('pharaoh_open_transactions', 'txcoord: transactions begun and not yet decided, all hosted shards.', 'gauge', app('openTransactions'));
    reg('pharaoh_live_sessions', 'session-mgr: live producer sessions (not closed, fenced or expired), all hosted shards.', 'gauge', app('liveSessions'));
    reg('pharaoh_groups', 'group-coord: consumer groups known (with members or committed offsets), all hosted shards.', 'gauge', app('groups'));
    reg('pharaoh_group_members', 'group-coord: members of those groups, all hosted shards.', 'gauge', app('groupMembers'));
    reg('pharaoh_journal_bytes', 'Bytes in the journals of all hosted shards (txcoord, session-mgr); compaction rewrites a journal to its live state.', 'gauge', app('journalBytes'));
    reg('pharaoh_journal_compactions_total', 'Journal compactions completed since start, all hosted shards.', 'counter', app('compactions'));
    reg('pharaoh_journal_syncs_total', 'Journal group-commit fdatasyncs since start, all hosted shards.', 'counter', app('syncs'));
    reg('pharaoh_journal_records_total', 'Records appended to journals since start, all hosted shards.', 'counter', app('appends'));
    registerCollected(
      this.registry,
      new CollectedMetric('pharaoh_auth_tokens', 'Accepted bearer tokens, by role (absent when authentication is off).', 'gauge', () =>
        (this.view?.tokens() ?? []).map(({ role, count }) => ({ value: count, labels: { role } })),
      ),
    );
    const disk = (name: string, help: string, pick: (s: DiskFigures) => number): void => {
      registerCollected(this.registry, new CollectedMetric(name, help, 'gauge', async () => single(mapDefined(await this.disk(), pick))));
    };
    disk('pharaoh_data_dir_free_bytes', 'Bytes available to this process on the file system of the data directory.', (s) => s.freeBytes);
    disk('pharaoh_data_dir_size_bytes', 'Size of the file system of the data directory.', (s) => s.sizeBytes);
    disk('pharaoh_data_dir_free_inodes', 'Free inodes on the file system of the data directory (each shard takes a few files).', (s) => s.freeInodes);
  }

  /** One statfs per scrape: the three disk gauges share it. */
  private diskRead: { at: number; figures: Promise<DiskFigures | undefined> } | undefined;

  private disk(): Promise<DiskFigures | undefined> {
    const dir = this.view?.dataDir;
    if (dir === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.diskRead === undefined || now - this.diskRead.at > DISK_READ_REUSE_MS) this.diskRead = { at: now, figures: readDisk(dir) };
    return this.diskRead.figures;
  }
}

/** A scrape reads the three disk gauges at once; one statfs serves them all. */
const DISK_READ_REUSE_MS = 1_000;

interface DiskFigures {
  freeBytes: number;
  sizeBytes: number;
  freeInodes: number;
}

async function readDisk(dir: string): Promise<DiskFigures | undefined> {
  try {
    const s = await statfs(dir);
    return { freeBytes: s.bavail * s.bsize, sizeBytes: s.blocks * s.bsize, freeInodes: s.ffree };
  } catch {
    return undefined; // the directory is gone or not on a real file system (tests): no sample
  }
}

function mapDefined<T>(v: T | undefined, f: (v: T) => number): number | undefined {
  return v === undefined ? undefined : f(v);
}

/** Sum one figure over the shards that report it; undefined when none does (the series is then absent). */
function sumApp(all: Iterable<ShardStats>, key: 'openTransactions' | 'liveSessions' | 'groups' | 'groupMembers' | 'journalBytes' | 'compactions' | 'syncs' | 'appends'): number | undefined {
  let sum: number | undefined;
  for (const s of all) {
    let v: number | undefined;
    if (key === 'openTransactions' || key === 'liveSessions' || key === 'groups' || key === 'groupMembers') v = s[key];
    else if (s.journal !== undefined) v = key === 'journalBytes' ? s.journal.sizeBytes : s.journal.stats[key];
    if (v !== undefined) sum = (sum ?? 0) + v;
  }
  return sum;
}
