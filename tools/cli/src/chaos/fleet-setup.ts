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

/** The services the crash test has a workload and checks for, and the ID space of each. */
export const SPACE_OF: Record<ServiceName, Issue['space']> = { tso: 'ts', txcoord: 'tx', 'session-mgr': 'session' };
const SERVICES = Object.keys(SPACE_OF) as ServiceName[];

/** Write `<dir>/fleet.json` and return the validated fleet. */
export async function writeChaosFleet(dir: string, procsPerService: number, shardsPerService: number): Promise<{ fleet: Fleet; path: string }> {
  const services: FleetFile['services'] = {};
  const ports = await freePorts(SERVICES.length * procsPerService * 2);
  for (const service of SERVICES) {
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

/** Which process label hosts each shard, per ID space. */
export function ownersOf(fleet: Fleet): Record<Issue['space'], Map<number, string>> {
  const owners = { ts: new Map<number, string>(), tx: new Map<number, string>(), session: new Map<number, string>() };
  for (const m of fleet.members) {
    for (const [lo, hi] of m.shards) for (let s = lo; s <= hi; s++) owners[SPACE_OF[m.service as ServiceName]].set(s, m.label);
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
