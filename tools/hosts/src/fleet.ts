/**
 * The fleet as Kubernetes would lay it out: per service a StatefulSet of
 * SERVER_HOSTS pods, pod `<service>-<n>` on server host n, shard range and
 * command line taken from `deploy/entrypoint.sh` itself (dry run) and checked
 * against `tools/cli/src/ordinal.ts`; names like a headless Service's; TLS
 * with one certificate naming every pod; bearer tokens on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARD_COUNT } from '@pharaoh/protocol';
import { REGISTRY, Registry, SESSION_MGR, TSO, TXCOORD, type ServiceName } from '@pharaoh/registry';

import type { FleetFile } from '@pharaoh/client';
import { k8sFleetFile, shardsForOrdinal } from '@pharaoh/cli';
import { REPO_ROOT } from '@pharaoh/testkit';

/**
 * The services the bed runs: the three its client loops drive (timestamps,
 * transactions, sessions). Every service is served by the same host code; 18
 * pods of all six would not fit the CI machine's two cores and minute.
 */
export const BED_REGISTRY = new Registry([TSO, TXCOORD, SESSION_MGR]);
export const SERVICES = BED_REGISTRY.names as ServiceName[];

/** Server hosts: one pod of each service per host, as topology spread would place them. */
export const SERVER_HOSTS = 3;
/** The smallest SHARDS_PER_POD that needs exactly SERVER_HOSTS pods: 342 → 0-341, 342-683, 684-1023. */
export const SHARDS_PER_POD = Math.ceil(SHARD_COUNT / SERVER_HOSTS);
export const NAMESPACE = 'pharaoh';
export const DOMAIN = 'cluster.local';
/** Where a second, unsanctioned owner is named (the two-owners scenario). */
export const ROGUE_SUBDOMAIN = 'rogue';

export const PORTS = Object.fromEntries(REGISTRY.services.map((s) => [s.name, s.ports.ws])) as Record<ServiceName, number>;

/** `tso-1.tso.pharaoh.svc.cluster.local`: the headless Service's name for pod `tso-1`. */
export function podDns(service: ServiceName, ordinal: number): string {
  return `${service}-${ordinal}.${service}.${NAMESPACE}.svc.${DOMAIN}`;
}

/** The name the second owner of pod `<service>-<ordinal>`'s shards answers to. */
export function rogueDns(service: ServiceName, ordinal: number): string {
  return `${service}-${ordinal}.${ROGUE_SUBDOMAIN}.${NAMESPACE}.svc.${DOMAIN}`;
}

/** The fleet file clients load: the same function as `pharaoh fleet k8s --tls`. */
export function fleetFile(): FleetFile {
  const spp = Object.fromEntries(SERVICES.map((s) => [s, SHARDS_PER_POD]));
  return k8sFleetFile({ namespace: NAMESPACE, domain: DOMAIN, shardsPerPod: spp, tls: true, registry: BED_REGISTRY });
}

/** The command line `deploy/entrypoint.sh` would exec for pod `<service>-<ordinal>` (its dry run), as `serve`'s arguments. */
export function entrypointArgs(service: ServiceName, ordinal: number, dataDir: string): { shards: string; args: string[] } {
  const out = execFileSync('sh', [join(REPO_ROOT, 'deploy', 'entrypoint.sh')], {
    encoding: 'utf8',
    timeout: 10_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PHARAOH_SERVICE: service,
      SHARDS_PER_POD: String(SHARDS_PER_POD),
      POD_NAME: `${service}-${ordinal}`,
      PHARAOH_DATA: dataDir,
      PORT: String(PORTS[service]),
      HTTP_PORT: String(PORTS[service] + 1),
      PHARAOH_DRY_RUN: '1',
    },
  }).trim();
  const words = out.split(/\s+/);
  const serve = words.indexOf('serve');
  if (serve < 0 || words[serve + 1] !== service) throw new Error(`entrypoint dry run said something unexpected: ${out}`);
  const args = words.slice(serve + 2);
  const shards = args[args.indexOf('--shards') + 1] ?? '';
  const [lo, hi] = shardsForOrdinal(ordinal, SHARDS_PER_POD);
  if (shards !== `${lo}-${hi}`) throw new Error(`entrypoint.sh gives ${service}-${ordinal} shards ${shards}, ordinal.ts ${lo}-${hi}`);
  return { shards, args };
}

export interface Secrets {
  certFile: string;
  keyFile: string;
  ca: Buffer;
  tokenFile: string;
  clientToken: string;
}

/** A self-signed certificate naming every pod (wildcards per service, as docs/DEPLOY.md asks) and the rogue names; a token file. */
export function makeSecrets(dir: string): Secrets {
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const sans = [...SERVICES.map((s) => `DNS:*.${s}.${NAMESPACE}.svc.${DOMAIN}`), `DNS:*.${ROGUE_SUBDOMAIN}.${NAMESPACE}.svc.${DOMAIN}`].join(',');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '1', '-subj', `/CN=${NAMESPACE}.${NAMESPACE}.svc`, '-addext', `subjectAltName=${sans}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`openssl failed (${r.status}): ${r.stderr}`);
  const clientToken = randomBytes(24).toString('base64url');
  const tokenFile = join(dir, 'tokens');
  writeFileSync(tokenFile, `admin:${randomBytes(24).toString('base64url')}\nclient:${clientToken}\n`, { mode: 0o600 });
  return { certFile, keyFile, ca: readFileSync(certFile), tokenFile, clientToken };
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}
