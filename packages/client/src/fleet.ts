/**
 * The fleet file: which endpoints exist, their service and the shards each is
 * meant to host. The reader is tolerant (extra fields are ignored; the CLI
 * validates the full format with a schema) but refuses anything it cannot use,
 * including two endpoints claiming one shard of one service.
 */
import { readFile } from 'node:fs/promises';
import { expandShardRanges, parseShardRanges, type ShardRanges } from '@pharaoh/protocol';
import { REGISTRY, type Registry } from '@pharaoh/registry';
import { FleetConfigError, FleetConflictError } from './errors.js';

/** One process of the fleet, as written in the fleet file. Extra fields are allowed. */
export interface FleetEndpoint {
  /** WebSocket URL, e.g. `ws://127.0.0.1:7100`. */
  endpoint: string;
  /** Shards it hosts, e.g. `0-511,1000` (or ranges `[[0,511]]`). Confirmed by the endpoint's hello. */
  shards?: string | ShardRanges;
  /** HTTP base URL for /healthz, /readyz, /metrics. */
  http?: string;
  [extra: string]: unknown;
}

/** `{ "services": { "tso": [ ... ], "txcoord": [ ... ], "session-mgr": [ ... ] } }` */
export interface FleetFile {
  /** Keyed by the services' registry names. */
  services: Partial<Record<string, FleetEndpoint[]>>;
  [extra: string]: unknown;
}

/** One endpoint with the service and shards the fleet file gives it. */
export interface EndpointClaim {
  endpoint: string;
  service: string;
  shards: ShardRanges | undefined;
}

/** Read and check a fleet file (JSON). Throws FleetConfigError or FleetConflictError. */
export async function loadFleetFile(path: string, services: Registry = REGISTRY): Promise<FleetFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new FleetConfigError(`cannot read fleet file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new FleetConfigError(`fleet file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const fleet = checkFleetFile(json, path, services);
  fleetClaims(fleet, services); // refuse duplicate claims as early as possible
  return fleet;
}

/** Check the shape of a parsed fleet file; returns it typed. */
export function checkFleetFile(json: unknown, where = 'fleet', registry: Registry = REGISTRY): FleetFile {
  const services = (json as { services?: unknown } | null)?.services;
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    throw new FleetConfigError(`${where}: expected an object with a "services" map`);
  }
  for (const [name, list] of Object.entries(services)) {
    if (!registry.has(name)) {
      throw new FleetConfigError(`${where}: unknown service "${name}" (known: ${registry.names.join(', ')})`);
    }
    if (!Array.isArray(list)) throw new FleetConfigError(`${where}: services.${name} must be a list of endpoints`);
    list.forEach((e: unknown, i) => {
      const ep = (e as { endpoint?: unknown } | null)?.endpoint;
      if (typeof ep !== 'string' || !/^wss?:\/\/./.test(ep)) {
        throw new FleetConfigError(`${where}: services.${name}[${i}].endpoint must be a ws:// or wss:// URL`);
      }
    });
  }
  return json as FleetFile;
}

/**
 * Every endpoint of the fleet with its claimed shards. Throws FleetConflictError
 * naming both endpoints when two claim the same shard of one service, and
 * FleetConfigError when one endpoint appears twice.
 */
export function fleetClaims(fleet: FleetFile, services: Registry = REGISTRY): EndpointClaim[] {
  const claims: EndpointClaim[] = [];
  const seen = new Map<string, string>();
  for (const service of services.names) {
    const owner = new Map<number, string>();
    for (const e of fleet.services[service] ?? []) {
      const prev = seen.get(e.endpoint);
      if (prev !== undefined) {
        throw new FleetConfigError(`endpoint ${e.endpoint} is listed twice (under ${prev} and ${service})`);
      }
      seen.set(e.endpoint, service);
      const shards = e.shards === undefined ? undefined : toRanges(e.shards, e.endpoint);
      for (const s of shards === undefined ? [] : expandShardRanges(shards)) {
        const other = owner.get(s);
        if (other !== undefined) throw new FleetConflictError(service, s, [other, e.endpoint]);
        owner.set(s, e.endpoint);
      }
      claims.push({ endpoint: e.endpoint, service, shards });
    }
  }
  return claims;
}

function toRanges(shards: string | ShardRanges, endpoint: string): ShardRanges {
  try {
    const text = typeof shards === 'string' ? shards : shards.map(([lo, hi]) => `${lo}-${hi}`).join(',');
    return parseShardRanges(text);
  } catch (cause) {
    throw new FleetConfigError(`${endpoint}: bad shards ${JSON.stringify(shards)}: ${(cause as Error).message}`, { cause });
  }
}
