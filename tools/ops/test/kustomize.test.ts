/**
 * What `kubectl kustomize` makes of deploy/k8s and deploy/monitoring: the
 * objects a cluster would get, not the files. Skipped, with a message, where
 * kubectl is not installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_COMPACT_AT_BYTES as GROUP_COMPACT_AT_BYTES } from '@pharaoh/group-coord';
import { DEFAULT_COMPACT_AT_BYTES as SCHEMA_COMPACT_AT_BYTES } from '@pharaoh/schema-registry';
import { DEFAULT_COMPACT_AT_BYTES as SEQ_COMPACT_AT_BYTES } from '@pharaoh/sequencer';
import { DEFAULT_COMPACT_AT_BYTES as SESSION_COMPACT_AT_BYTES } from '@pharaoh/session-mgr';
import { DEFAULT_COMPACT_AT_BYTES as TX_COMPACT_AT_BYTES } from '@pharaoh/txcoord';
import { REPO } from './helpers.js';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const kubectlFound = spawnSync(KUBECTL, ['version', '--client'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
if (!kubectlFound) console.warn(`kubectl not found (${KUBECTL}): the kustomize output tests are skipped. Install kubectl or set KUBECTL to run them.`);

type Obj = Record<string, any>;

function kustomize(dir: string): Obj[] {
  const r = spawnSync(KUBECTL, ['kustomize', join(REPO, dir)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });
}

describe.skipIf(!kubectlFound)('kubectl kustomize deploy/k8s', () => {
  const objects = kubectlFound ? kustomize('deploy/k8s') : [];
  const statefulSets = objects.filter((o) => o.kind === 'StatefulSet');
  const each = statefulSets.map((s) => [s.metadata.name as string, s] as const);

  it('puts one StatefulSet per service of the registry, their Services and budgets in namespace pharaoh', () => {
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual(['group-coord', 'schema-registry', 'sequencer', 'session-mgr', 'tso', 'txcoord']);
    for (const o of objects.filter((o) => o.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('pharaoh');
  });

  it.each(each)('%s: startup, readiness and liveness probes over HTTPS on the HTTP port', (_name, ss) => {
    const c = ss.spec.template.spec.containers[0];
    const probes = { startupProbe: '/healthz', readinessProbe: '/readyz', livenessProbe: '/healthz' } as const;
    for (const [probe, path] of Object.entries(probes)) {
      expect(c[probe]?.httpGet, probe).toMatchObject({ path, port: 'http', scheme: 'HTTPS' });
    }
    // The startup probe must allow a slow start (journals replayed) before liveness counts.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
    expect(c.livenessProbe.initialDelaySeconds ?? 0).toBe(0);
  });

  it.each(each)('%s: spread over nodes (hard) and zones (soft), selecting its own pods', (_name, ss) => {
    const spec = ss.spec.template.spec;
    const labels = ss.spec.template.metadata.labels;
    const byKey = Object.fromEntries((spec.topologySpreadConstraints ?? []).map((t: Obj) => [t.topologyKey, t]));
    expect(byKey['kubernetes.io/hostname']).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
    expect(byKey['topology.kubernetes.io/zone']).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' });
    for (const t of Object.values(byKey) as Obj[]) {
      expect(labels).toMatchObject(t.labelSelector.matchLabels);
      expect(t.labelSelector.matchLabels['app.kubernetes.io/name']).toBe(`pharaoh-${ss.metadata.name}`);
    }
  });

  it.each(each)('%s: serves TLS with the certificate of the Secret pharaoh-tls, and tokens from pharaoh-tokens', (_name, ss) => {
    const spec = ss.spec.template.spec;
    const c = spec.containers[0];
    const env = Object.fromEntries(c.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    const mountOf = (file: string): Obj | undefined => c.volumeMounts.find((m: Obj) => file.startsWith(`${m.mountPath}/`));
    for (const [name, secret] of [
      ['PHARAOH_TLS_CERT', 'pharaoh-tls'],
      ['PHARAOH_TLS_KEY', 'pharaoh-tls'],
      ['PHARAOH_TOKEN_FILE', 'pharaoh-tokens'],
    ] as const) {
      const mount = mountOf(env[name]);
      expect(mount, `${name}=${env[name]} is on no mount`).toBeDefined();
      expect(mount!.readOnly).toBe(true);
      expect(spec.volumes.find((v: Obj) => v.name === mount!.name)?.secret?.secretName, name).toBe(secret);
    }
    expect(env.PHARAOH_TLS_CERT.endsWith('tls.crt') && env.PHARAOH_TLS_KEY.endsWith('tls.key')).toBe(true);
    expect(env.PHARAOH_HTTP_PLAIN).toBeUndefined(); // probes and scrape use HTTPS
  });

  it.each(each)('%s: scrape annotations name the HTTP port over HTTPS', (_name, ss) => {
    const a = ss.spec.template.metadata.annotations;
    const http = ss.spec.template.spec.containers[0].ports.find((p: Obj) => p.name === 'http').containerPort;
    expect(a).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/scheme': 'https', 'prometheus.io/port': String(http), 'prometheus.io/path': '/metrics' });
  });

  it.each(each)('%s: non-root, read-only root file system, no privilege escalation, requests and a memory limit', (_name, ss) => {
    const spec = ss.spec.template.spec;
    const c = spec.containers[0];
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(spec.automountServiceAccountToken).toBe(false);
    const mib = (q: string): number => Number(/^(\d+)Mi$/.exec(q)?.[1] ?? NaN);
    const { requests, limits } = c.resources;
    expect(requests.cpu).toBeDefined();
    expect(mib(requests.memory)).toBeLessThanOrEqual(mib(limits.memory));
    expect(limits.cpu).toBeUndefined(); // throttling would stall every shard of the pod
    // The V8 heap cap stays under the container's memory limit.
    const heap = Number(/--max-old-space-size=(\d+)/.exec(c.env.find((e: Obj) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
    expect(heap).toBeLessThan(mib(limits.memory));
  });

  it.each(each)('%s: a volume that holds every journal of the pod at its compaction size', (name, ss) => {
    const c = ss.spec.template.spec.containers[0];
    const shards = Number(c.env.find((e: Obj) => e.name === 'SHARDS_PER_POD').value);
    const gib = Number(/^(\d+)Gi$/.exec(ss.spec.volumeClaimTemplates[0].spec.resources.requests.storage)?.[1] ?? NaN);
    const perShard = { tso: 0, txcoord: TX_COMPACT_AT_BYTES, 'session-mgr': SESSION_COMPACT_AT_BYTES, 'group-coord': GROUP_COMPACT_AT_BYTES, 'schema-registry': SCHEMA_COMPACT_AT_BYTES, sequencer: SEQ_COMPACT_AT_BYTES }[name as 'tso'] ?? NaN;
    // Each shard's journal may be just under its trigger at once; leave a quarter for compaction copies and the rest.
    expect(gib * 2 ** 30).toBeGreaterThanOrEqual(Math.max(1, shards * perShard * 1.25));
  });
});

describe.skipIf(!kubectlFound)('kubectl kustomize deploy/monitoring', () => {
  const objects = kubectlFound ? kustomize('deploy/monitoring') : [];
  const podsOf = kubectlFound ? kustomize('deploy/k8s').filter((o) => o.kind === 'StatefulSet') : [];

  it('scrapes every Pharaoh pod over HTTPS with an admin bearer token from a Secret', () => {
    const pm = objects.find((o) => o.kind === 'PodMonitor');
    expect(pm?.metadata.namespace).toBe('pharaoh');
    for (const ss of podsOf) expect(ss.spec.template.metadata.labels).toMatchObject(pm!.spec.selector.matchLabels);
    const [ep] = pm!.spec.podMetricsEndpoints;
    expect(ep).toMatchObject({ port: 'http', path: '/metrics', scheme: 'https', authorization: { type: 'Bearer', credentials: { name: 'pharaoh-scrape', key: 'token' } } });
    expect(ep.tlsConfig.ca.secret.name).toBe('pharaoh-tls');
  });

  it('ships the alert rules and the dashboard (as a ConfigMap for the Grafana sidecar)', () => {
    const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.spec.groups.flatMap((g: Obj) => g.rules).length).toBeGreaterThanOrEqual(10);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pharaoh-dashboard')!;
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['pharaoh-dashboard.json'])).toEqual(JSON.parse(readFileSync(join(REPO, 'deploy', 'monitoring', 'pharaoh-dashboard.json'), 'utf8')));
  });
});
