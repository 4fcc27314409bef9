import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Request latency buckets in seconds: 25 µs (a memory-only answer) to 2.5 s (a stuck disk). */
const LATENCY_BUCKETS = [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];
/** fsync buckets in seconds: 50 µs (battery-backed cache) to 2.5 s (a failing disk). */
const FSYNC_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/** Generator counters summed over the hosted shards, read when /metrics is scraped. */
export interface GeneratorTotals {
  clockRegressions: number;
  windowWaits: number;
  leadWaits: number;
}

interface CounterChild {
  inc(v?: number): void;
}
interface HistogramChild {
  observe(v: number): void;
}

/**
 * The process's Prometheus metrics, in a registry of its own (several servers
 * may live in one test process). Label values never come from client input:
 * ops are checked against the service's list first, everything else is
 * 'unknown', so a hostile client cannot blow up the series count.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'outcome'>;
  private readonly shardRequests: Counter<'op' | 'shard'>;
  private readonly ids: Counter<'op' | 'shard'>;
  private readonly latency: Histogram<'op'>;
  readonly fsync: Histogram;
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly framesRejected: Counter<'reason'>;
  readonly shardUp: Gauge<'shard'>;
  private readonly outcomeCache = new Map<string, CounterChild>();
  private readonly latencyCache = new Map<string, HistogramChild>();

  constructor(service: string, totals: () => GeneratorTotals) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'pharaoh_requests_total', help: 'Requests answered, by op and outcome (ok or error code).', labelNames: ['op', 'outcome'], registers });
    this.shardRequests = new Counter({ name: 'pharaoh_shard_requests_total', help: 'Requests answered ok, by op and shard.', labelNames: ['op', 'shard'], registers });
    this.ids = new Counter({ name: 'pharaoh_ids_issued_total', help: 'IDs issued, by op and shard.', labelNames: ['op', 'shard'], registers });
    this.latency = new Histogram({ name: 'pharaoh_request_duration_seconds', help: 'Time from decoding a request to sending its answer, by op.', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers });
    this.fsync = new Histogram({ name: 'pharaoh_fsync_duration_seconds', help: 'Duration of counter fdatasyncs (all shards).', buckets: FSYNC_BUCKETS, registers });
    this.connections = new Gauge({ name: 'pharaoh_connections', help: 'Open WebSocket connections.', registers });
    this.connectionsTotal = new Counter({ name: 'pharaoh_connections_total', help: 'WebSocket connections accepted.', registers });
    this.framesRejected = new Counter({ name: 'pharaoh_frames_rejected_total', help: 'Connections closed or requests refused for a bad frame or a limit, by reason.', labelNames: ['reason'], registers });
    this.shardUp = new Gauge({ name: 'pharaoh_shard_up', help: '1 while a hosted shard serves, 0 when it failed or is closing.', labelNames: ['shard'], registers });
    const gauge = (name: string, help: string, key: keyof GeneratorTotals): void => {
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
    gauge('pharaoh_clock_regressions_total', 'Times a generator saw the wall clock go backwards (IDs kept increasing).', 'clockRegressions');
    gauge('pharaoh_window_waits_total', 'Times a caller waited for the durable bound (window exhausted).', 'windowWaits');
    gauge('pharaoh_lead_waits_total', 'Times a caller waited because borrowed time ran too far ahead of the clock.', 'leadWaits');
  }

  /** Count an answered request. `op` must already be a known op or 'unknown'. */
  answered(op: string, outcome: string, seconds: number): void {
    const key = `${op}\u0000${outcome}`;
    let c = this.outcomeCache.get(key);
    if (c === undefined) {
      c = this.requests.labels(op, outcome);
      this.outcomeCache.set(key, c);
    }
    c.inc();
    let h = this.latencyCache.get(op);
    if (h === undefined) {
      h = this.latency.labels(op);
      this.latencyCache.set(op, h);
    }
    h.observe(seconds);
  }

  /** Children for one (op, shard) pair, cached by the caller on the shard. */
  shardOp(op: string, shard: number): { requests: CounterChild; ids: CounterChild } {
    return { requests: this.shardRequests.labels(op, String(shard)), ids: this.ids.labels(op, String(shard)) };
  }

  rejected(reason: 'text' | 'undecodable' | 'oversized' | 'overloaded' | 'connection_limit' | 'shutting_down'): void {
    this.framesRejected.inc({ reason });
  }
}
