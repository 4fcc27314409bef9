/**
 * Reading a server's /metrics page in the benchmarks, through the operator
 * kit's one Prometheus text reader (tools/ops/src/exposition.ts).
 */
import { declaredFamilies, parseExposition } from '../../tools/ops/src/exposition.js';

/** The /metrics page of the server whose HTTP endpoint is `httpUrl`. */
export async function scrapeMetrics(httpUrl: string): Promise<string> {
  return (await fetch(`${httpUrl}/metrics`)).text();
}

/**
 * The value of the series `name` of `family` whose labels include `labels`:
 * 0 when the family is declared but has no such series yet (a labelled series
 * appears at its first observation), NaN when the page lacks the family.
 */
export function metric(text: string, family: string, name = family, labels: Record<string, string> = {}): number {
  const s = parseExposition(text).find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (s !== undefined) return s.value;
  return declaredFamilies(text).includes(family) ? 0 : NaN;
}

/** The process time bound's fdatasyncs so far (count and total seconds). */
export function boundFsyncs(text: string): { count: number; seconds: number } {
  const family = 'pharaoh_fsync_duration_seconds';
  return { count: metric(text, family, `${family}_count`, { kind: 'bound' }), seconds: metric(text, family, `${family}_sum`, { kind: 'bound' }) };
}
