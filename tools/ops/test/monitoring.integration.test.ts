/**
 * The monitoring files against real servers: one process of each service
 * (spawned as `node --import tsx apps/<service>/src/main.ts`, 127.0.0.1, port
 * 0, TLS and tokens on, as in the StatefulSets) is given traffic and the
 * events the alerts watch (a refused scrape, a bad frame, a SIGHUP reload),
 * then scraped. Every query of the dashboard and of the alert rules must parse
 * and may only name metrics that some scrape has samples of.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RawClient, killAll, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { makeCert, opensslAvailable, type TestCert } from '@pharaoh/testkit/tls-cert';
import { alertRules, declaredFamilies, monitoringQueries, parseExposition, parseQuery, type Series } from '../src/index.js';
import { headingAnchors } from '../src/markdown-links.js';
import { REPO, fetchText } from './helpers.js';

const MONITORING = join(REPO, 'deploy', 'monitoring');
const ADMIN = 'admin-token-for-the-scrape-0123456789';
const CLIENT = 'client-token-for-the-tests-0123456789';
const SERVICES = ['tso', 'txcoord', 'session-mgr'] as const;
type Service = (typeof SERVICES)[number];
/** Series Prometheus adds to every target itself; no server exports them. */
const FROM_PROMETHEUS = new Set(['up']);
/** The open transaction and session must outlive the test, however slow the machine (the default timeouts are 10 s and 30 s). */
const OPEN_FOR_MS = 600_000;
/** What a reload must settle within (SIGHUP is handled asynchronously). */
const RELOAD_WAIT_MS = 10_000;

const data = tempDir('pharaoh-monitoring-');
const apps = new Map<Service, RunningApp>();
const scrapes = new Map<Service, { text: string; series: Series[] }>();
let cert: TestCert;

async function scrape(app: RunningApp, token = ADMIN): Promise<{ status: number; body: string }> {
  return fetchText(`${app.httpUrl}/metrics`, { ca: cert.ca, token });
}

async function connect(app: RunningApp): Promise<RawClient> {
  return RawClient.connect(app.url, { timeoutMs: 10_000, ws: { ca: cert.ca, headers: { authorization: `Bearer ${CLIENT}` } } });
}

/** Requests that make every family of the service have samples. */
async function traffic(service: Service, c: RawClient): Promise<void> {
  if (service === 'tso') {
    for (let shard = 0; shard < 4; shard++) await c.ok('ts.get', { shard, count: 5 });
  } else if (service === 'txcoord') {
    const a = await c.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
    await c.ok('tx.begin', { shard: 2, timeoutMs: OPEN_FOR_MS }); // stays open
    await c.ok('tx.commit', { txId: a.txId });
  } else {
    // Without a producer name any shard takes the session.
    await c.ok('session.open', { shard: 3, timeoutMs: OPEN_FOR_MS });
  }
}

/** A text frame: the server closes the connection (1003) and counts it. */
async function sendTextFrame(app: RunningApp): Promise<void> {
  const ws = new WebSocket(app.url, { ca: cert.ca, headers: { authorization: `Bearer ${CLIENT}` } });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close after a text frame')), 10_000);
    ws.on('message', () => ws.send('not msgpack'));
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', reject);
  });
}

beforeAll(async () => {
  if (!opensslAvailable) return;
  cert = makeCert(data.dir);
  const tokenFile = join(data.dir, 'tokens');
  writeFileSync(tokenFile, `admin:${ADMIN}\nclient:${CLIENT}\n`);
  await Promise.all(
    SERVICES.map(async (service) => {
      const app = await startApp(
        join('apps', service, 'src', 'main.ts'),
        ['--shards', '0-7', '--port', '0', '--http-port', '0', '--data', join(data.dir, 'data'), '--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--token-file', tokenFile],
        { name: service, env: { ...process.env, PHARAOH_LOG_LEVEL: 'warn' } },
      );
      apps.set(service, app);
    }),
  );
  for (const service of SERVICES) {
    const app = apps.get(service)!;
    const c = await connect(app);
    try {
      await traffic(service, c);
    } finally {
      c.ws.terminate();
    }
    await sendTextFrame(app);
    expect((await scrape(app, 'not-a-token-but-long-enough-0123')).status).toBe(401);
    process.kill(app.pid, 'SIGHUP');
  }
  for (const service of SERVICES) {
    const app = apps.get(service)!;
    const deadline = Date.now() + RELOAD_WAIT_MS;
    let text = '';
    do {
      const r = await scrape(app);
      expect(r.status).toBe(200);
      text = r.body;
    } while (!/^pharaoh_reloads_total\{[^}]*result="ok"/m.test(text) && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 100)), true));
    scrapes.set(service, { text, series: parseExposition(text) });
  }
}, 180_000);

afterAll(async () => {
  for (const app of apps.values()) await stopApp(app, 'SIGTERM');
  await killAll();
  data.remove();
});

const queries = monitoringQueries(MONITORING);

describe.skipIf(!opensslAvailable)('monitoring files against live servers', () => {
  it('find queries in the dashboard and in the alert rules', () => {
    expect(queries.filter((q) => q.where.startsWith('dashboard panel')).length).toBeGreaterThanOrEqual(20);
    expect(queries.filter((q) => q.where.startsWith('alert')).length).toBeGreaterThanOrEqual(10);
  });

  it.each(queries.map((q) => [q.where, q.expr]))('%s parses as PromQL', (_where, expr) => {
    expect(parseQuery(expr).errors).toEqual([]);
  });

  it('name only metrics that the servers export with samples', () => {
    const exported = new Set<string>();
    for (const { series } of scrapes.values()) for (const s of series) exported.add(s.name);
    const missing: string[] = [];
    for (const q of queries) for (const m of parseQuery(q.expr).metrics) if (!exported.has(m) && !FROM_PROMETHEUS.has(m)) missing.push(`${q.where}: ${m}`);
    expect(missing).toEqual([]);
  });

  it('the scrapes hold what the queries rely on: service-specific figures where they belong, TLS expiry, a reload and a refused scrape', () => {
    const value = (service: Service, name: string, labels: Record<string, string> = {}): number | undefined =>
      scrapes.get(service)!.series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('txcoord', 'pharaoh_open_transactions')).toBe(1);
    expect(value('session-mgr', 'pharaoh_live_sessions')).toBe(1);
    expect(value('tso', 'pharaoh_open_transactions')).toBeUndefined();
    for (const service of ['txcoord', 'session-mgr'] as const) {
      expect(value(service, 'pharaoh_journal_bytes')).toBeGreaterThan(0);
      expect(value(service, 'pharaoh_fsync_duration_seconds_count', { kind: 'journal' })).toBeGreaterThanOrEqual(1);
    }
    for (const service of SERVICES) {
      expect(value(service, 'pharaoh_build_info', { service })).toBe(1);
      expect(value(service, 'pharaoh_shards_hosted')).toBe(8);
      expect(value(service, 'pharaoh_reloads_total', { result: 'ok' })).toBe(1);
      expect(value(service, 'pharaoh_auth_failures_total', { reason: 'wrong_token' })).toBe(1);
      expect(value(service, 'pharaoh_frames_rejected_total', { reason: 'text' })).toBe(1);
      expect(value(service, 'pharaoh_tls_certificate_expiry_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000);
      expect(Math.abs(value(service, 'process_start_time_seconds')! - Date.now() / 1000)).toBeLessThan(600);
    }
  });

  it('no series carries a shard label by default (bounded cardinality)', () => {
    const labelled = [...scrapes.values()].flatMap(({ series }) => series.filter((s) => 'shard' in s.labels).map((s) => s.name));
    expect(labelled).toEqual([]);
  });

  it('every alert has a severity, a summary and a runbook section of docs/OPERATIONS.md', () => {
    const anchors = headingAnchors(readFileSync(join(REPO, 'docs', 'OPERATIONS.md'), 'utf8'));
    for (const r of alertRules(join(MONITORING, 'alerts.yaml'))) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      const m = /^docs\/OPERATIONS\.md#(.+)$/.exec(r.annotations?.runbook ?? '');
      expect(m, `${r.alert} runbook`).not.toBeNull();
      expect(anchors.has(m![1]!), `${r.alert}: no section #${m![1]} in docs/OPERATIONS.md`).toBe(true);
    }
  });

  it('docs/OPERATIONS.md describes every pharaoh_* metric the servers declare', () => {
    const ops = readFileSync(join(REPO, 'docs', 'OPERATIONS.md'), 'utf8');
    const families = new Set<string>();
    for (const { text } of scrapes.values()) for (const f of declaredFamilies(text)) if (f.startsWith('pharaoh_')) families.add(f);
    expect(families.size).toBeGreaterThan(20);
    expect([...families].filter((f) => !ops.includes(`\`${f}\``))).toEqual([]);
  });
});
