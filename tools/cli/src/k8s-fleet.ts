/**
 * The fleet file for the StatefulSets in `deploy/k8s`: one endpoint per pod,
 * addressed by its stable DNS name through the headless Service
 * (`<pod>.<service>.<namespace>.svc.<domain>`), shards by ordinal.
 */
import { SERVICES } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/protocol';
import { DEFAULT_PORTS } from './fleet-file.js';
import type { FleetFile } from './fleet-file.js';
import { podsForShardsPerPod, shardsForOrdinal } from './ordinal.js';

export interface K8sFleetOptions {
  namespace: string;
  domain: string;
  shardsPerPod: Record<ServiceName, number>;
}

export function k8sFleetFile(opts: K8sFleetOptions): FleetFile {
  const services: FleetFile['services'] = {};
  for (const service of SERVICES) {
    const spp = opts.shardsPerPod[service];
    const ports = DEFAULT_PORTS[service];
    services[service] = Array.from({ length: podsForShardsPerPod(spp) }, (_, ordinal) => {
      const [lo, hi] = shardsForOrdinal(ordinal, spp);
      const host = `${service}-${ordinal}.${service}.${opts.namespace}.svc.${opts.domain}`;
      return { endpoint: `ws://${host}:${ports.ws}`, http: `http://${host}:${ports.http}`, shards: `${lo}-${hi}` };
    });
  }
  return { services };
}
