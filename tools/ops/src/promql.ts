/**
 * PromQL, read with the Prometheus project's own grammar
 * (`@prometheus-io/lezer-promql`, the parser of Prometheus' web UI): the
 * metric names a query selects, and whether it parses at all.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface ParsedQuery {
  /** Metric names the query selects (`foo` in `rate(foo{a="b"}[5m])`), sorted, each once. */
  metrics: string[];
  /** Where the grammar could not read the query (empty when it parses). */
  errors: Array<{ at: number; near: string }>;
}

/**
 * Grafana's interval variables become a fixed duration before parsing: they
 * stand where PromQL wants a duration literal. Other `$variables` only appear
 * inside label matcher strings, which parse as they are.
 */
const GRAFANA_DURATIONS = /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g;

export function parseQuery(expr: string): ParsedQuery {
  const text = expr.replace(GRAFANA_DURATIONS, '5m');
  const metrics = new Set<string>();
  const errors: ParsedQuery['errors'] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push({ at: node.from, near: text.slice(Math.max(0, node.from - 20), node.from + 20) });
        return;
      }
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id !== null) metrics.add(text.slice(id.from, id.to));
      }
    },
  });
  return { metrics: [...metrics].sort(), errors };
}

/**
 * A Grafana template variable query: `label_values(<selector>, <label>)` is
 * Grafana's own function, not PromQL; its selector part is. Returns the PromQL
 * to check, or the query itself.
 */
export function variablePromql(query: string): string {
  const m = /^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(query);
  return m ? m[1]! : query;
}
