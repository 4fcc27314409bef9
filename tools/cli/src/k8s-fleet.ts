/**
 * The fleet file for the StatefulSets in `deploy/k8s`: one endpoint per pod,
 * addressed by its stable DNS name through the headless Service
 * (`<pod>.<service>.<namespace>.svc.<domain>`), shards by ordinal.
 */
import { SERVICES } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/protocol';
import { CliError, CLI_ERROR_CODES } from './errors.js';
import { DEFAULT_PORTS } from './fleet-file.js';
import type { FleetFile } from './fleet-file.js';
import { podsForShardsPerPod, shardsForOrdinal } from './ordinal.js';

export interface K8sFleetOptions {
  namespace: string;
  domain: string;
  shardsPerPod: Record<ServiceName, number>;
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
  for (const service of SERVICES) {
    const spp = opts.shardsPerPod[service];
    const ports = DEFAULT_PORTS[service];
    services[service] = Array.from({ length: podsForShardsPerPod(spp) }, (_, ordinal) => {
      const [lo, hi] = shardsForOrdinal(ordinal, spp);
      const host = `${service}-${ordinal}.${service}.${opts.namespace}.svc.${opts.domain}`;
      return { endpoint: `${ws}://${host}:${ports.ws}`, http: `${http}://${host}:${ports.http}`, shards: `${lo}-${hi}` };
    });
  }
  return { services };
}
