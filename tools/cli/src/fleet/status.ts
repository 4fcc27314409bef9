/**
 * `pharaoh fleet status [fleet.json]`: one row per process of the fleet with
 * its shard ranges, health (/healthz), readiness (/readyz) and pid.
 */
import { formatShardRanges } from '@pharaoh/protocol';
import { formatTable } from '../decode.js';
import { loadFleet } from '../fleet-file.js';
import type { FleetMember } from '../fleet-file.js';
import { memberMarkers } from './child.js';
import { isOurProcess, readPidFile } from './pidfile.js';

export interface MemberStatus {
  service: string;
  endpoint: string;
  shards: string;
  http: string;
  /** 'ok' (2xx), 'fail <status>', 'down' (no answer), or '-' without an HTTP port. */
  health: string;
  ready: string;
  pid: number | undefined;
}

async function probe(http: string | undefined, path: string): Promise<string> {
  if (http === undefined) return '-';
  try {
    const res = await fetch(new URL(path, http), { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.ok ? 'ok' : `fail ${res.status}`;
  } catch {
    return 'down';
  }
}

async function memberStatus(m: FleetMember, pids: Map<string, number>): Promise<MemberStatus> {
  const [health, ready] = await Promise.all([probe(m.http, '/healthz'), probe(m.http, '/readyz')]);
  const pid = pids.get(m.label);
  return {
    service: m.service,
    endpoint: m.endpoint,
    shards: formatShardRanges(m.shards),
    http: m.http ?? '-',
    health,
    ready,
    pid: pid !== undefined && isOurProcess(pid, memberMarkers(m.service)) ? pid : undefined,
  };
}

/** Probe every process of the fleet. Pids come from the pid file of a fleet started by `fleet up`. */
export async function fleetStatus(file?: string): Promise<{ rows: MemberStatus[]; allReady: boolean; source: string }> {
  const fleet = loadFleet(file);
  const pf = readPidFile(fleet.dataDir);
  const pids = new Map((pf?.children ?? []).map((c) => [c.label, c.pid]));
  const rows = await Promise.all(fleet.members.map((m) => memberStatus(m, pids)));
  return { rows, allReady: rows.every((r) => r.ready === 'ok'), source: fleet.source };
}

export function formatStatus(rows: MemberStatus[]): string {
  return formatTable(
    ['service', 'endpoint', 'shards', 'http', 'health', 'ready', 'pid'],
    rows.map((r) => [r.service, r.endpoint, r.shards, r.http, r.health, r.ready, r.pid === undefined ? '-' : String(r.pid)]),
  );
}
