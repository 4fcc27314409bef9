/**
 * The Grafana dashboard as a page: panels that do not overlap, unique ids,
 * one data source variable, and every panel query filtered by the page's
 * $service and $instance variables (a panel that ignores them shows the
 * whole fleet while the page claims to show one process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy', 'monitoring', 'pharaoh-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string }> };
};
const GRID_COLUMNS = 24;

/** The label names each vector selector of `expr` matches on. */
function selectorLabels(expr: string): string[][] {
  const text = expr.replace(/\$__rate_interval/g, '5m');
  const out: string[][] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const labels: string[] = [];
      const matchers = node.node.getChild('LabelMatchers');
      if (matchers !== null) {
        matchers.toTree().iterate({
          enter(m) {
            if (m.name === 'LabelName') labels.push(text.slice(matchers.from + m.from, matchers.from + m.to));
          },
        });
      }
      out.push(labels);
    },
  });
  return out;
}

describe('the Grafana dashboard', () => {
  const panels = dashboard.panels;
  const graphs = panels.filter((p) => p.type !== 'row');

  it('has a stable uid, unique panel ids and the variables its queries use', () => {
    expect(dashboard.uid).toBe('pharaoh-fleet');
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(dashboard.templating.list.map((v) => v.name).sort()).toEqual(['datasource', 'instance', 'service']);
  });

  it('lays panels out without overlaps, inside the 24-column grid', () => {
    const taken = new Map<string, string>();
    const overlaps: string[] = [];
    for (const p of panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(GRID_COLUMNS);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = taken.get(`${x},${y}`);
          if (other !== undefined) overlaps.push(`${p.title} / ${other}`);
          taken.set(`${x},${y}`, p.title);
        }
      }
    }
    expect([...new Set(overlaps)]).toEqual([]);
  });

  it('reads every panel from the chosen data source', () => {
    for (const p of graphs) expect(p.datasource?.uid, p.title).toBe('${datasource}');
  });

  it('filters every selector of every panel by $service and $instance', () => {
    const unfiltered: string[] = [];
    let selectors = 0;
    for (const p of graphs) {
      for (const t of p.targets ?? []) {
        for (const labels of selectorLabels(t.expr)) {
          selectors++;
          if (!labels.includes('service') || !labels.includes('instance')) unfiltered.push(`${p.title}: ${t.expr}`);
        }
      }
    }
    expect(graphs.length).toBeGreaterThanOrEqual(20);
    expect(selectors).toBeGreaterThan(graphs.length);
    expect(unfiltered).toEqual([]);
  });
});
