/**
 * The crash test's fleet: several processes per service on free loopback
 * ports, splitting the first `shardsPerService` shards of each service evenly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shardForKey } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/registry';
import { parseFleet } from '../fleet-file.js';
import type { Fleet, FleetFile } from '../fleet-file.js';
import { freePorts } from '../fleet/preflight.js';
import type { Issue } from './check.js';

/** The built-in services of the crash test (the worker's own loops drive them), and the ID space of each. */
export const SPACE_OF: Readonly<Record<string, Issue['space']>> = { tso: 'ts', txcoord: 'tx', 'session-mgr': 'session' };
const BUILT_IN = Object.keys(SPACE_OF) as ServiceName[];

/** Write `<dir>/fleet.json` with the built-in services and `plugins` (service names), and return the validated fleet. */
export async function writeChaosFleet(dir: string, procsPerService: number, shardsPerService: number, plugins: readonly string[] = []): Promise<{ fleet: Fleet; path: string }> {
  const services: FleetFile['services'] = {};
  const all = [...BUILT_IN, ...plugins];
  const ports = await freePorts(all.length * procsPerService * 2);
  for (const service of all) {
    services[service] = [];
    for (let p = 0; p < procsPerService; p++) {
      const lo = Math.floor((p * shardsPerService) / procsPerService);
      const hi = Math.floor(((p + 1) * shardsPerService) / procsPerService) - 1;
      const [ws, http] = [ports.pop()!, ports.pop()!];
      services[service]!.push({ endpoint: `ws://127.0.0.1:${ws}`, http: `http://127.0.0.1:${http}`, shards: `${lo}-${hi}` });
    }
  }
  const file: FleetFile = { data: 'data', services };
  const path = join(dir, 'fleet.json');
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  return { fleet: parseFleet(file, { source: path, baseDir: dir }), path };
}

/** Which process label hosts each shard, per ID space (a plug-in's space is its service name). */
export function ownersOf(fleet: Fleet): Record<string, Map<number, string>> {
  const owners: Record<string, Map<number, string>> = {};
  for (const m of fleet.members) {
    const space = SPACE_OF[m.service] ?? m.service;
    const map = owners[space] ?? (owners[space] = new Map());
    for (const [lo, hi] of m.shards) for (let s = lo; s <= hi; s++) map.set(s, m.label);
  }
  return owners;
}

/** Producer names that hash into the served session shards (session-mgr refuses the others). */
export function producerNames(w: number, loops: number, perLoop: number, shardsPerService: number): string[][] {
  return Array.from({ length: loops }, (_, l) =>
    Array.from({ length: perLoop }, (_, k) => {
      for (let salt = 0; ; salt++) {
        const name = `w${w}-l${l}-p${k}-${salt}`;
        if (shardForKey(name) < shardsPerService) return name;
      }
    }),
  );
}
