import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SHARD_COUNT } from '@pharaoh/protocol';
import { REGISTRY } from '@pharaoh/registry';
import { DOCUMENTED_SHARDS_PER_POD, podsForShardsPerPod, shardsForOrdinal } from '../src/ordinal.js';
import { k8sFleetFile } from '../src/k8s-fleet.js';
import { parseFleet } from '../src/fleet-file.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(REPO, 'deploy');
const ENTRYPOINT = join(DEPLOY, 'entrypoint.sh');

/** Run the container entry point in dry-run mode; returns its --shards value, or the error. */
function entrypointShards(env: Record<string, string>): { shards?: string; status: number; stderr: string } {
  const r = spawnSync('sh', [ENTRYPOINT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PHARAOH_DRY_RUN: '1', ...env },
    encoding: 'utf8',
  });
  const m = /--shards (\d+-\d+)/.exec(r.stdout);
  return { ...(m ? { shards: m[1]! } : {}), status: r.status ?? -1, stderr: r.stderr };
}

function coverage(ranges: Array<[number, number]>): number[] {
  const hits = new Array<number>(SHARD_COUNT).fill(0);
  for (const [lo, hi] of ranges) for (let s = lo; s <= hi; s++) hits[s]!++;
  return hits;
}

describe('ordinal → shard range', () => {
  it.each(DOCUMENTED_SHARDS_PER_POD.map((s) => [s]))('covers 0..1023 exactly once with SHARDS_PER_POD=%i', (spp) => {
    const pods = podsForShardsPerPod(spp);
    const ranges = Array.from({ length: pods }, (_, i) => shardsForOrdinal(i, spp));
    expect(coverage(ranges).every((n) => n === 1)).toBe(true);
    expect(() => shardsForOrdinal(pods, spp)).toThrow(/has no shards/);
  });

  it('the shell entry point computes the same ranges as the TypeScript mapping', () => {
    for (const spp of DOCUMENTED_SHARDS_PER_POD) {
      const pods = podsForShardsPerPod(spp);
      const fromShell: Array<[number, number]> = [];
      for (let ordinal = 0; ordinal < pods; ordinal++) {
        const r = entrypointShards({ PHARAOH_SERVICE: 'tso', SHARDS_PER_POD: String(spp), POD_NAME: `tso-${ordinal}` });
        expect(r.status, r.stderr).toBe(0);
        const [lo, hi] = r.shards!.split('-').map(Number) as [number, number];
        expect([lo, hi]).toEqual(shardsForOrdinal(ordinal, spp));
        fromShell.push([lo, hi]);
      }
      expect(coverage(fromShell).every((n) => n === 1)).toBe(true);
      const extra = entrypointShards({ PHARAOH_SERVICE: 'tso', SHARDS_PER_POD: String(spp), POD_NAME: `tso-${pods}` });
      expect(extra.status).toBe(64);
      expect(extra.stderr).toContain('has no shards');
    }
  });

  it('the entry point refuses bad pod names, services and SHARDS_PER_POD values', () => {
    const bad: Array<Record<string, string>> = [
      { PHARAOH_SERVICE: 'tso', POD_NAME: 'tso' },
      { PHARAOH_SERVICE: 'tso', POD_NAME: 'tso-01' },
      { PHARAOH_SERVICE: 'Tso', POD_NAME: 'tso-0' },
      { PHARAOH_SERVICE: 'tso;rm', POD_NAME: 'tso-0' },
      { PHARAOH_SERVICE: 'tso', POD_NAME: 'tso-0', SHARDS_PER_POD: '0' },
      { PHARAOH_SERVICE: 'tso', POD_NAME: 'tso-0', SHARDS_PER_POD: '2048' },
    ];
    for (const env of bad) expect(entrypointShards(env).status, JSON.stringify(env)).toBe(64);
  });

  it('the entry point refuses a service the image does not serve before it marks the volume', () => {
    const data = mkdtempSync(join(tmpdir(), 'pharaoh-pv-'));
    const r = spawnSync('sh', [ENTRYPOINT], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PHARAOH_BIN: join(REPO, 'tools', 'cli', 'bin', 'pharaoh.cjs'), PHARAOH_SERVICE: 'tsx', POD_NAME: 'tsx-0', PHARAOH_DATA: data },
      encoding: 'utf8',
    });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain("PHARAOH_SERVICE 'tsx' is not a service of this image (tso txcoord session-mgr group-coord schema-registry sequencer )");
    expect(readdirSync(data)).toEqual([]);
  });

  it('the entry point refuses a volume that holds another shard range', () => {
    const data = mkdtempSync(join(tmpdir(), 'pharaoh-pv-'));
    const env = { PHARAOH_SERVICE: 'tso', POD_NAME: 'tso-1', SHARDS_PER_POD: '512', PHARAOH_DATA: data };
    execFileSync('sh', ['-c', `printf 'service=tso shards=512-1023\\n' > ${data}/pharaoh-pod.txt`]);
    expect(entrypointShards(env).shards).toBe('512-1023');
    const moved = entrypointShards({ ...env, SHARDS_PER_POD: '256' });
    expect(moved.status).toBe(65);
    expect(moved.stderr).toContain("holds 'service=tso shards=512-1023'");
  });
});

describe('Kubernetes manifests', () => {
  const files = readdirSync(join(DEPLOY, 'k8s')).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(DEPLOY, 'k8s', f), 'utf8')).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as Record<string, any>;
    }),
  );
  const statefulSets = docs.filter((d) => d.kind === 'StatefulSet');

  it('parse, and define one StatefulSet and one headless Service per service', () => {
    expect(statefulSets.map((s) => s.metadata.name).sort()).toEqual([...REGISTRY.names].sort());
    for (const ss of statefulSets) {
      const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === ss.spec.serviceName);
      expect(svc?.spec.clusterIP).toBe('None');
      expect(ss.spec.template.metadata.labels).toMatchObject(svc?.spec.selector);
      expect(ss.spec.selector.matchLabels).toEqual(svc?.spec.selector);
    }
  });

  it.each(['tso', 'txcoord', 'session-mgr'])('%s: replicas match SHARDS_PER_POD, one volume per pod, probes and grace set', (name) => {
    const ss = statefulSets.find((s) => s.metadata.name === name)!;
    const c = ss.spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
    expect(env.PHARAOH_SERVICE).toBe(name);
    const spp = Number(env.SHARDS_PER_POD);
    expect(ss.spec.replicas).toBe(podsForShardsPerPod(spp));
    const ranges = Array.from({ length: ss.spec.replicas }, (_, i) => shardsForOrdinal(i, spp));
    expect(coverage(ranges).every((n) => n === 1)).toBe(true);
    expect(c.env.find((e: any) => e.name === 'POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(ss.spec.volumeClaimTemplates).toHaveLength(1);
    expect(c.volumeMounts[0].name).toBe(ss.spec.volumeClaimTemplates[0].metadata.name);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(ss.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(0);
    expect(ss.spec.updateStrategy.type).toBe('RollingUpdate');
  });

  it('the generated fleet file for the manifests is a valid fleet covering every shard once', () => {
    const perPod: Record<string, number> = {};
    for (const ss of statefulSets) {
      perPod[ss.metadata.name] = Number(ss.spec.template.spec.containers[0].env.find((e: any) => e.name === 'SHARDS_PER_POD').value);
    }
    const file = k8sFleetFile({ namespace: 'pharaoh', domain: 'cluster.local', shardsPerPod: perPod as any });
    const fleet = parseFleet(file, { source: 'k8s', baseDir: '/' });
    expect(fleet.members.filter((m) => m.service === 'tso')).toHaveLength(statefulSets.find((s) => s.metadata.name === 'tso')!.spec.replicas);
    expect(fleet.members[0]!.endpoint).toBe('ws://tso-0.tso.pharaoh.svc.cluster.local:7100');
  });

  it('the docs list each documented SHARDS_PER_POD with its pod count', () => {
    const guide = readFileSync(join(REPO, 'docs', 'DEPLOY.md'), 'utf8');
    for (const spp of DOCUMENTED_SHARDS_PER_POD) {
      expect(guide).toMatch(new RegExp(`\\|\\s*${spp}\\s*\\|\\s*${podsForShardsPerPod(spp)}\\s*\\|`));
    }
  });
});
