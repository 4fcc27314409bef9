import { describe, expect, it } from 'vitest';
import { parseExposition, parseQuery, variablePromql } from '../src/index.js';

describe('parseQuery', () => {
  it('lists the metrics a query selects, not functions, labels or Grafana variables', () => {
    const q = parseQuery('histogram_quantile(0.99, sum by (op, le) (rate(pharaoh_request_duration_seconds_bucket{service=~"$service"}[$__rate_interval]))) / on() group_left time() - process_start_time_seconds');
    expect(q.errors).toEqual([]);
    expect(q.metrics).toEqual(['pharaoh_request_duration_seconds_bucket', 'process_start_time_seconds']);
  });

  it('reports a query the grammar cannot read', () => {
    expect(parseQuery('sum(rate(pharaoh_requests_total[5m])').errors.length).toBeGreaterThan(0);
    expect(parseQuery('rate(pharaoh_requests_total[5m]) >').errors.length).toBeGreaterThan(0);
  });

  it("reads the selector of Grafana's label_values() variable queries", () => {
    expect(variablePromql('label_values(pharaoh_build_info{service=~"$service"}, instance)')).toBe('pharaoh_build_info{service=~"$service"}');
    expect(parseQuery(variablePromql('label_values(pharaoh_build_info, service)')).metrics).toEqual(['pharaoh_build_info']);
  });
});

describe('parseExposition', () => {
  it('reads names, labels (with escapes) and values, and refuses a line that is not a sample', () => {
    const s = parseExposition('# HELP x y\n# TYPE x counter\nx{a="1",b="q\\"q"} 3\ny 4.5\n');
    expect(s).toEqual([
      { name: 'x', labels: { a: '1', b: 'q\\"q' }, value: 3 },
      { name: 'y', labels: {}, value: 4.5 },
    ]);
    expect(() => parseExposition('what is this')).toThrow(/not a Prometheus sample line/);
  });
});
