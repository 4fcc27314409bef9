import type { AuthFailure } from './auth.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotMetrics } from './hot-metrics.js';
import type { ShardOpStats } from './hot-metrics.js';

/** fsync buckets in seconds: 50 µs (battery-backed cache) to 2.5 s (a failing disk). */
const FSYNC_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/** Generator counters summed over the hosted shards, read when /metrics is scraped. */
export interface GeneratorTotals {
  clockRegressions: number;
  windowWaits: number;
  leadWaits: number;
}


/**
 * The process's Prometheus metrics, in a registry of its own (several servers
 * may live in one test process). Label values never come from client input:
 * ops are checked against the service's list first, everything else is
 * 'unknown', so a hostile client cannot blow up the series count.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Request-path counters (plain numbers, read at scrape time). */
  readonly hot: HotMetrics;
  readonly fsync: Histogram;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly framesRejected: Counter<'reason'>;
  readonly shardUp: Gauge<'shard'>;
  readonly pausedConnections: Gauge;
  readonly pauses: Counter;
  readonly authFailures: Counter<'reason'>;

  constructor(service: string, totals: () => GeneratorTotals) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.hot = new HotMetrics(this.registry);
    this.fsync = new Histogram({ name: 'pharaoh_fsync_duration_seconds', help: 'Duration of counter fdatasyncs (all shards).', buckets: FSYNC_BUCKETS, registers });
    this.connections = new Gauge({ name: 'pharaoh_connections', help: 'Open WebSocket connections.', registers });
    this.connectionsTotal = new Counter({ name: 'pharaoh_connections_total', help: 'WebSocket connections accepted.', registers });
    this.framesRejected = new Counter({ name: 'pharaoh_frames_rejected_total', help: 'Connections closed or requests refused for a bad frame or a limit, by reason.', labelNames: ['reason'], registers });
    this.shardUp = new Gauge({ name: 'pharaoh_shard_up', help: '1 while a hosted shard serves, 0 when it failed or is closing.', labelNames: ['shard'], registers });
    this.pausedConnections = new Gauge({ name: 'pharaoh_backpressure_paused_connections', help: 'Connections whose reading is paused because their answers are not being read.', registers });
    this.authFailures = new Counter({ name: 'pharaoh_auth_failures_total', help: 'Refused credentials: missing, malformed or wrong token at the upgrade or on /metrics, or a role without permission (forbidden).', labelNames: ['reason'], registers });
    this.pauses = new Counter({ name: 'pharaoh_backpressure_pauses_total', help: 'Times a connection was paused for back-pressure.', registers });
    const fromGenerators = (name: string, help: string, key: keyof GeneratorTotals): void => {
      // Counters whose value is read from the generators at scrape time.
      new Counter({
        name,
        help,
        registers,
        collect(this: Counter) {
          this.reset();
          this.inc(totals()[key]);
        },
      });
    };
    fromGenerators('pharaoh_clock_regressions_total', 'Times a generator saw the wall clock go backwards (IDs kept increasing).', 'clockRegressions');
    fromGenerators('pharaoh_window_waits_total', 'Times a caller waited for the durable bound (window exhausted).', 'windowWaits');
    fromGenerators('pharaoh_lead_waits_total', 'Times a caller waited because borrowed time ran too far ahead of the clock.', 'leadWaits');
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

  authFailed(reason: AuthFailure): void {
    this.authFailures.inc({ reason });
  }

  rejected(reason: 'text' | 'undecodable' | 'oversized' | 'overloaded' | 'connection_limit' | 'shutting_down' | 'idle_timeout'): void {
    this.framesRejected.inc({ reason });
  }
}
