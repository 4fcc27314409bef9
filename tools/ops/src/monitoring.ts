/**
 * The queries of the fleet's monitoring files (`deploy/monitoring/`): every
 * PromQL expression of the Grafana dashboard (panel targets and template
 * variables) and of the alert rules, each with where it came from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { variablePromql } from './promql.js';

export interface Query {
  /** e.g. `dashboard panel "IDs issued per second" A`, `alert PharaohShardUnavailable`. */
  where: string;
  expr: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  title?: string;
  targets?: Array<{ refId?: string; expr?: string }>;
  panels?: Panel[];
}

export function dashboardQueries(file: string): Query[] {
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels?: Panel[]; templating?: { list?: Array<{ name: string; type: string; query?: unknown }> } };
  const out: Query[] = [];
  const walk = (panels: Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `dashboard panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (q !== undefined) out.push({ where: `dashboard variable $${v.name}`, expr: variablePromql(q) });
  }
  return out;
}

export function alertRules(file: string): AlertRule[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { spec?: { groups?: Array<{ rules?: AlertRule[] }> } };
  return (doc.spec?.groups ?? []).flatMap((g) => g.rules ?? []);
}

export function monitoringQueries(dir: string): Query[] {
  return [
    ...dashboardQueries(join(dir, 'pharaoh-dashboard.json')),
    ...alertRules(join(dir, 'alerts.yaml')).map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
  ];
}
