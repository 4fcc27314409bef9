/**
 * A metric whose samples are computed when /metrics is scraped, registered
 * into a prom-client Registry beside prom-client's own classes. Used for
 * values that live elsewhere as plain numbers (request counters, shard and
 * journal figures): nothing is paid until a scrape asks.
 */
import type { Registry } from 'prom-client';

export interface Sample {
  value: number;
  labels: Record<string, string | number>;
  /** For histograms: the `_bucket` / `_sum` / `_count` series name. */
  metricName?: string;
}

/** Only what the registry calls (`get`, `reset`, `aggregator`) is implemented. */
export class CollectedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly sample: () => Sample[] | Promise<Sample[]>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: await this.sample(), aggregator: this.aggregator };
  }

  reset(): void {
    // The values live with their owners; a registry reset does not apply to them.
  }
}

/** Register `m` into `registry` (prom-client types only know its own classes). */
export function registerCollected(registry: Registry, m: CollectedMetric): void {
  registry.registerMetric(m as never);
}

/** One unlabelled sample, or none when `value` is undefined (the series is absent, not 0). */
export function single(value: number | undefined): Sample[] {
  return value === undefined ? [] : [{ value, labels: {} }];
}
