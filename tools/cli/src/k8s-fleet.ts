/**
 * The fleet file for the StatefulSets in `deploy/k8s`: one endpoint per pod,
 * addressed by its stable DNS name through the headless Service
 * (`<pod>.<service>.<namespace>.svc.<domain>`), shards by ordinal. Services,
 * ports and shards per pod come from the registry (overridable per service).
 */
import { REGISTRY, type Registry } from '@pharaoh/registry';
import { CliError, CLI_ERROR_CODES } from './errors.js';
import type { FleetFile } from './fleet-file.js';
import { podsForShardsPerPod, shardsForOrdinal } from './ordinal.js';

export interface K8sFleetOptions {
  namespace: string;
  domain: string;
  /** SHARDS_PER_POD by service, where it differs from the registry's `shardsPerPod`. */
  shardsPerPod?: Partial<Record<string, number>>;
  registry?: Registry;
  /** The pods serve TLS (`--tls-cert`): `wss://` endpoints, `https://` health URLs unless `httpPlain`. */
  tls?: boolean;
  /** With `tls`, the pods run with `--http-plain`: their HTTP port stays `http://`. */
  httpPlain?: boolean;
}

export function k8sFleetFile(opts: K8sFleetOptions): FleetFile {
  if (opts.httpPlain === true && opts.tls !== true) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, '--http-plain only applies with --tls (without TLS every URL is plain already)');
  }
  const ws = opts.tls === true ? 'wss' : 'ws';
  const http = opts.tls === true && opts.httpPlain !== true ? 'https' : 'http';
  const services: FleetFile['services'] = {};
  for (const spec of (opts.registry ?? REGISTRY).services) {
    const service = spec.name;
    const spp = opts.shardsPerPod?.[service] ?? spec.shardsPerPod;
    services[service] = Array.from({ length: podsForShardsPerPod(spp) }, (_, ordinal) => {
      const [lo, hi] = shardsForOrdinal(ordinal, spp);
      const host = `${service}-${ordinal}.${service}.${opts.namespace}.svc.${opts.domain}`;
      return { endpoint: `${ws}://${host}:${spec.ports.ws}`, http: `${http}://${host}:${spec.ports.http}`, shards: `${lo}-${hi}` };
    });
  }
  return { services };
}
