/**
 * The fleet file: which process serves which shards of which service.
 *
 * ```json
 * { "data": "./data",
 *   "services": {
 *     "tso": [ { "endpoint": "ws://127.0.0.1:7100", "http": "http://127.0.0.1:7101", "shards": "0-1023" } ] } }
 * ```
 *
 * The same file feeds `pharaoh fleet up` (what to start), `fleet status`
 * (what to probe) and `@pharaoh/client` (where to send requests). Validation
 * refuses anything that could make two processes own one shard.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { formatShardRanges, parseShardRanges, SHARD_COUNT, toShardRanges } from '@pharaoh/protocol';
import type { ShardRanges } from '@pharaoh/protocol';
import { REGISTRY, type Registry } from '@pharaoh/registry';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** Where the default fleet listens: loopback only, so a first `npm start` exposes nothing. */
export const DEFAULT_HOST = '127.0.0.1';
/** Data directory of the default fleet, relative to the working directory. */
export const DEFAULT_DATA_DIR = './data';
/** Fixed ports of the default fleet: WebSocket and HTTP (health, metrics) per service, from the registry. */
export function defaultPorts(registry: Registry = REGISTRY): Record<string, { ws: number; http: number }> {
  return Object.fromEntries(registry.services.map((s) => [s.name, { ...s.ports }]));
}
/** Label printed for the built-in fleet in messages. */
export const DEFAULT_FLEET_SOURCE = '(default fleet)';

function urlWithPort(protocols: string[], what: string) {
  return z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a URL (expected e.g. ${protocols[0]}//127.0.0.1:7100)` });
      return;
    }
    if (!protocols.includes(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `${what} "${text}" must start with ${protocols.map((p) => p + '//').join(' or ')}` });
    } else if (url.port === '' || url.port === '0') {
      ctx.addIssue({ code: 'custom', message: `${what} "${text}" must name its port explicitly (1-65535), so clients can find it` });
    }
  });
}

/** `"0-255,512"`, or the same as ranges `[[0, 255], [512, 512]]` (the client accepts both). */
const shardsSchema = z
  .union([z.string(), z.array(z.tuple([z.number().int(), z.number().int()]))])
  .superRefine((value, ctx) => {
    try {
      parseShardRanges(shardsText(value));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

function shardsText(value: string | Array<[number, number]>): string {
  return typeof value === 'string' ? value : value.map(([lo, hi]) => `${lo}-${hi}`).join(',');
}

const memberSchema = z
  .object({
    endpoint: urlWithPort(['ws:', 'wss:'], 'endpoint'),
    shards: shardsSchema,
    http: urlWithPort(['http:', 'https:'], 'http').optional(),
    data: z.string().min(1).optional(),
  })
  .strict();

/** The JSON schema of a fleet file for the services of `registry` (unknown keys are refused, to catch typos like "shard"). */
export function fleetFileSchema(registry: Registry = REGISTRY) {
  const services = Object.fromEntries(registry.names.map((name) => [name, z.array(memberSchema).optional()]));
  return z
    .object({
      data: z.string().min(1).optional(),
      services: z.object(services).strict(),
    })
    .strict();
}

/** A fleet file: `services` is keyed by registry names. (A type, not an interface: it must fit the client's FleetFile, which has an index signature.) */
export type FleetFile = {
  data?: string | undefined;
  services: Partial<Record<string, FleetFileMember[]>>;
};
export type FleetFileMember = z.input<typeof memberSchema>;

/** One process of a fleet, with everything resolved. */
export interface FleetMember {
  /** A registry name. */
  service: string;
  endpoint: string;
  host: string;
  port: number;
  http: string | undefined;
  httpPort: number | undefined;
  shards: ShardRanges;
  /** Absolute data directory (shards live in `<dataDir>/<service>/shard-<id>/`). */
  dataDir: string;
  /** Short name for log prefixes and tables: `tso:7100`. */
  label: string;
}

export interface Fleet {
  /** File path, or DEFAULT_FLEET_SOURCE. */
  source: string;
  /** Absolute fleet-level data directory (pid file and logs of `fleet up` go here). */
  dataDir: string;
  members: FleetMember[];
  file: FleetFile;
}

/** The documented default fleet: one process per service, all 1024 shards each. */
export function defaultFleetFile(opts: { host?: string; dataDir?: string; registry?: Registry } = {}): FleetFile {
  const host = opts.host ?? DEFAULT_HOST;
  const services: FleetFile['services'] = {};
  for (const s of (opts.registry ?? REGISTRY).services) {
    services[s.name] = [{ endpoint: `ws://${host}:${s.ports.ws}`, http: `http://${host}:${s.ports.http}`, shards: `0-${SHARD_COUNT - 1}` }];
  }
  return { data: opts.dataDir ?? DEFAULT_DATA_DIR, services };
}

/**
 * Validate a parsed fleet file. Relative data paths resolve against `baseDir`
 * (the fleet file's directory, or the working directory for the default).
 * Throws CliError FLEET_INVALID / FLEET_OVERLAP naming the offending entries.
 */
export function parseFleet(json: unknown, opts: { source: string; baseDir: string; registry?: Registry }): Fleet {
  const registry = opts.registry ?? REGISTRY;
  const result = fleetFileSchema(registry).safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new CliError(CLI_ERROR_CODES.FLEET_INVALID, `${opts.source}: invalid fleet file\n${lines.join('\n')}`);
  }
  const file: FleetFile = result.data;
  const dataDir = resolve(opts.baseDir, file.data ?? DEFAULT_DATA_DIR);
  const members: FleetMember[] = [];
  for (const service of registry.names) {
    for (const m of file.services[service] ?? []) {
      const ws = new URL(m.endpoint);
      const http = m.http === undefined ? undefined : new URL(m.http);
      members.push({
        service,
        endpoint: m.endpoint,
        host: ws.hostname.replace(/^\[|\]$/g, ''),
        port: Number(ws.port),
        http: m.http,
        httpPort: http ? Number(http.port) : undefined,
        shards: parseShardRanges(shardsText(m.shards)),
        dataDir: m.data === undefined ? dataDir : resolve(opts.baseDir, m.data),
        label: `${service}:${ws.port}`,
      });
    }
  }
  if (members.length === 0) {
    throw new CliError(CLI_ERROR_CODES.FLEET_INVALID, `${opts.source}: the fleet lists no endpoints`);
  }
  checkOverlaps(members, opts.source);
  checkPorts(members, opts.source);
  return { source: opts.source, dataDir, members, file };
}

/** Read and validate a fleet file; without a path, the default fleet under the working directory. */
export function loadFleet(path?: string, registry: Registry = REGISTRY): Fleet {
  if (path === undefined) {
    return parseFleet(defaultFleetFile({ registry }), { source: DEFAULT_FLEET_SOURCE, baseDir: process.cwd(), registry });
  }
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new CliError(CLI_ERROR_CODES.FLEET_INVALID, `${path}: cannot read fleet file (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(CLI_ERROR_CODES.FLEET_INVALID, `${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseFleet(json, { source: path, baseDir: dirname(abs), registry });
}

/** Shard ids present in both range lists. */
export function intersectRanges(a: ShardRanges, b: ShardRanges): ShardRanges {
  const out: ShardRanges = [];
  for (const [alo, ahi] of a) {
    for (const [blo, bhi] of b) {
      const lo = Math.max(alo, blo);
      const hi = Math.min(ahi, bhi);
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return toShardRanges(out.flatMap(([lo, hi]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)));
}

/** Two processes owning one shard would issue colliding IDs: refuse, naming both. */
function checkOverlaps(members: FleetMember[], source: string): void {
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i]!;
      const b = members[j]!;
      if (a.service !== b.service) continue;
      const both = intersectRanges(a.shards, b.shards);
      if (both.length > 0) {
        throw new CliError(
          CLI_ERROR_CODES.FLEET_OVERLAP,
          `${source}: ${a.service} shards ${formatShardRanges(both)} are claimed by both ${a.endpoint} ` +
            `(${formatShardRanges(a.shards)}) and ${b.endpoint} (${formatShardRanges(b.shards)}); each shard needs exactly one owner`,
        );
      }
    }
  }
}

/** Two listeners on one host:port cannot both start; say which entries collide before starting anything. */
function checkPorts(members: FleetMember[], source: string): void {
  const seen = new Map<string, string>();
  for (const m of members) {
    const pairs: Array<[number | undefined, string | undefined]> = [
      [m.port, m.endpoint],
      [m.httpPort, m.http],
    ];
    for (const [port, url] of pairs) {
      if (port === undefined || url === undefined) continue;
      const key = `${m.host}:${port}`;
      const prev = seen.get(key);
      if (prev !== undefined) {
        throw new CliError(CLI_ERROR_CODES.FLEET_INVALID, `${source}: ${url} and ${prev} use the same port ${key}`);
      }
      seen.set(key, url);
    }
  }
}

/** Shards of each service that no endpoint serves (a fleet may be partial; `fleet up` warns). */
export function uncoveredShards(fleet: Fleet): Record<string, ShardRanges> {
  const out: Record<string, ShardRanges> = {};
  for (const service of new Set(fleet.members.map((m) => m.service))) {
    const members = fleet.members.filter((m) => m.service === service);
    if (members.length === 0) continue;
    const owned = new Set<number>();
    for (const m of members) for (const [lo, hi] of m.shards) for (let s = lo; s <= hi; s++) owned.add(s);
    const missing: number[] = [];
    for (let s = 0; s < SHARD_COUNT; s++) if (!owned.has(s)) missing.push(s);
    if (missing.length > 0) out[service] = toShardRanges(missing);
  }
  return out;
}
