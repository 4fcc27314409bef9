/**
 * The alert rules through Prometheus' own tool: `promtool check rules` (the
 * rules load in a real Prometheus), and `promtool test rules` runs
 * deploy/monitoring/alerts.test.yaml — every alert fires on the series it
 * watches, after its `for`, with its labels and annotations, and a healthy
 * process fires none. Also lints real servers' /metrics with `promtool check
 * metrics`. Skipped, with a message, where promtool is not installed
 * (Debian: apt-get install prometheus).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { killAll, startApp, stopApp, tempDir } from '@pharaoh/testkit';
import { alertRules } from '../src/index.js';
import { REPO } from './helpers.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const promtoolFound = spawnSync(PROMTOOL, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
if (!promtoolFound) console.warn(`promtool not found (${PROMTOOL}): the rule unit tests and the metrics lint are skipped. Install it (apt-get install prometheus) or set PROMTOOL to run them.`);

const MONITORING = join(REPO, 'deploy', 'monitoring');
const work = tempDir('pharaoh-promtool-');
afterAll(async () => {
  await killAll();
  work.remove();
});

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: work.dir, encoding: 'utf8', timeout: 120_000, ...(input === undefined ? {} : { input }) });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The PrometheusRule's rule groups as a plain rules file, and the unit tests beside it. */
function writeRuleFiles(): void {
  const rule = parseYaml(readFileSync(join(MONITORING, 'alerts.yaml'), 'utf8')) as { spec: unknown };
  writeFileSync(join(work.dir, 'pharaoh.rules.yml'), stringify(rule.spec));
  copyFileSync(join(MONITORING, 'alerts.test.yaml'), join(work.dir, 'alerts.test.yaml'));
}

describe.skipIf(!promtoolFound)('promtool', () => {
  writeRuleFiles();

  it('loads the rules (promtool check rules)', () => {
    const r = promtool(['check', 'rules', 'pharaoh.rules.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
  });

  it('passes the rule unit tests (promtool test rules alerts.test.yaml)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yaml']);
    expect(r.status, r.out).toBe(0);
  });

  it('the unit tests make every alert fire at least once', () => {
    const tests = parseYaml(readFileSync(join(MONITORING, 'alerts.test.yaml'), 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    const fired = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname)));
    const untested = alertRules(join(MONITORING, 'alerts.yaml'))
      .map((r) => r.alert)
      .filter((a) => !fired.has(a));
    expect(untested).toEqual([]);
  });

  it("finds nothing to say about the servers' own metrics (promtool check metrics)", async () => {
    const complaints: string[] = [];
    for (const service of ['tso', 'txcoord', 'session-mgr']) {
      const app = await startApp(join('apps', service, 'src', 'main.ts'), ['--shards', '0-3', '--port', '0', '--http-port', '0', '--data', join(work.dir, service)], {
        name: service,
        env: { ...process.env, PHARAOH_LOG_LEVEL: 'warn' },
      });
      try {
        const text = await (await fetch(`${app.httpUrl}/metrics`)).text();
        const r = promtool(['check', 'metrics'], text);
        // prom-client's own nodejs_* gauges end in _total; only our families are ours to fix.
        complaints.push(...r.out.split('\n').filter((l) => l.startsWith('pharaoh_')).map((l) => `${service}: ${l}`));
      } finally {
        await stopApp(app, 'SIGTERM');
      }
    }
    expect(complaints).toEqual([]);
  }, 120_000);
});
