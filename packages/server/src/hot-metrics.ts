/**
 * Metrics on the request path, kept as plain numbers and turned into
 * Prometheus series only when /metrics is scraped. prom-client's labelled
 * `inc`/`observe` hash the label object on every call, which showed up in
 * profiles at ~100k requests/s; here a request costs a Map lookup and a few
 * additions.
 */
import type { Registry } from 'prom-client';
import { CollectedMetric, registerCollected, type Sample } from './collected.js';

/** Request latency buckets in seconds: 25 µs (a memory-only answer) to 2.5 s (a stuck disk). */
export const LATENCY_BUCKETS = [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/** Per-op counters and latency histogram. */
export class OpStats {
  /** Answers by outcome other than 'ok' (error codes). */
  readonly outcomes = new Map<string, number>();
  /** Answers with outcome 'ok', kept apart so the common case costs no map lookup. */
  ok = 0;
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length);
  sum = 0;
  count = 0;

  observe(outcome: string, seconds: number): void {
    if (outcome === 'ok') this.ok++;
    else this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    this.time(seconds);
  }

  observeOk(seconds: number): void {
    this.ok++;
    this.time(seconds);
  }

  /** Every (outcome, count) pair with a non-zero count. */
  counts(): Array<[string, number]> {
    const out: Array<[string, number]> = this.ok > 0 ? [['ok', this.ok]] : [];
    for (const e of this.outcomes) out.push(e);
    return out;
  }

  private time(seconds: number): void {
    this.count++;
    this.sum += seconds;
    // Non-cumulative here; cumulated at scrape time.
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

/** Per (shard, op) counters. */
export interface ShardOpStats {
  requests: number;
  ids: number;
}

/** The request-path counters of one server, registered into its registry. */
export class HotMetrics {
  readonly ops = new Map<string, OpStats>();
  /** shard id → op → stats */
  readonly shards = new Map<number, Map<string, ShardOpStats>>();

  /**
   * With `perShard`, `pharaoh_shard_requests_total` and a `shard` label on
   * `pharaoh_ids_issued_total` are exported too; without, IDs are summed by op
   * (the counters are kept per shard either way: the request path is the same).
   */
  constructor(registry: Registry, perShard = false) {
    const reg = (m: CollectedMetric): void => registerCollected(registry, m);
    reg(new CollectedMetric('pharaoh_requests_total', 'Requests answered, by op and outcome (ok or error code).', 'counter', () => this.requestSamples()));
    if (perShard) {
      reg(new CollectedMetric('pharaoh_shard_requests_total', 'Requests answered ok, by op and shard.', 'counter', () => this.shardSamples('requests')));
      reg(new CollectedMetric('pharaoh_ids_issued_total', 'IDs issued, by op and shard.', 'counter', () => this.shardSamples('ids')));
    } else {
      reg(new CollectedMetric('pharaoh_ids_issued_total', 'IDs issued, by op (summed over the hosted shards).', 'counter', () => this.idsByOp()));
    }
    reg(
      new CollectedMetric('pharaoh_request_duration_seconds', 'Time from decoding a request to sending its answer, by op.', 'histogram', () =>
        this.latencySamples(),
      ),
    );
  }

  op(op: string): OpStats {
    let s = this.ops.get(op);
    if (s === undefined) {
      s = new OpStats();
      this.ops.set(op, s);
    }
    return s;
  }

  shardOp(shard: number, op: string): ShardOpStats {
    let m = this.shards.get(shard);
    if (m === undefined) {
      m = new Map();
      this.shards.set(shard, m);
    }
    let s = m.get(op);
    if (s === undefined) {
      s = { requests: 0, ids: 0 };
      m.set(op, s);
    }
    return s;
  }

  private requestSamples(): Sample[] {
    const out: Sample[] = [];
    for (const [op, s] of this.ops) for (const [outcome, value] of s.counts()) out.push({ value, labels: { op, outcome } });
    return out;
  }

  private shardSamples(key: keyof ShardOpStats): Sample[] {
    const out: Sample[] = [];
    for (const [shard, m] of this.shards) for (const [op, s] of m) if (key !== 'ids' || s.ids > 0) out.push({ value: s[key], labels: { op, shard } });
    return out;
  }

  private idsByOp(): Sample[] {
    const sums = new Map<string, number>();
    for (const m of this.shards.values()) for (const [op, s] of m) if (s.ids > 0) sums.set(op, (sums.get(op) ?? 0) + s.ids);
    return [...sums].map(([op, value]) => ({ value, labels: { op } }));
  }

  private latencySamples(): Sample[] {
    const out: Sample[] = [];
    for (const [op, s] of this.ops) {
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        out.push({ metricName: 'pharaoh_request_duration_seconds_bucket', value: cumulative, labels: { op, le: LATENCY_BUCKETS[i]! } });
      }
      out.push({ metricName: 'pharaoh_request_duration_seconds_bucket', value: s.count, labels: { op, le: '+Inf' } });
      out.push({ metricName: 'pharaoh_request_duration_seconds_sum', value: s.sum, labels: { op } });
      out.push({ metricName: 'pharaoh_request_duration_seconds_count', value: s.count, labels: { op } });
    }
    return out;
  }
}
