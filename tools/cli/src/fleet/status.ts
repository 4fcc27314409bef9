/**
 * `pharaoh fleet status [fleet.json]`: one row per process of the fleet with
 * its shard ranges, health (/healthz), readiness (/readyz), its WebSocket
 * hello (the service and shards it says it serves, checked against the file)
 * and pid. Works against TLS fleets: `--ca-file` / PHARAOH_CA_FILE for
 * `https://` and `wss://`, the token for the WebSocket upgrade.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { ConnectError, PharaohClient } from '@pharaoh/client';
import type { ClientOptions } from '@pharaoh/client';
import { formatShardRanges } from '@pharaoh/protocol';
import type { ShardRanges } from '@pharaoh/protocol';
import { authOptions } from '../client-commands.js';
import type { TargetOptions } from '../client-commands.js';
import { formatTable } from '../decode.js';
import { diagnoseEndpoint } from '../diagnose.js';
import type { DiagnosisKind } from '../diagnose.js';
import { loadFleet } from '../fleet-file.js';
import type { FleetMember } from '../fleet-file.js';
import { memberMarkers } from './child.js';
import { isOurProcess, readPidFile } from './pidfile.js';

/** How long each probe may take unless `--timeout` says otherwise. */
export const DEFAULT_STATUS_TIMEOUT_MS = 2_000;

export interface MemberStatus {
  service: string;
  endpoint: string;
  shards: string;
  http: string;
  /** 'ok' (2xx), 'fail <status>', 'down' (no answer), 'untrusted cert' / 'cert expired' / 'cert name' (https refused), or '-' without an HTTP port. */
  health: string;
  ready: string;
  /** 'ok' when the endpoint's hello names the file's service and shards; else a short reason (see `helloDetail`). */
  hello: string;
  /** The one-line reason when `hello` is not 'ok'. */
  helloDetail?: string;
  pid: number | undefined;
}

export interface StatusOptions extends Pick<TargetOptions, 'tokenFile' | 'caFile'> {
  timeout?: number;
}

type Auth = Pick<ClientOptions, 'token' | 'tls'>;

/** GET `path` on the HTTP port: 'ok' for 2xx, else what went wrong, shortly. */
function probe(http: string | undefined, path: string, auth: Auth, timeoutMs: number): Promise<string> {
  if (http === undefined) return Promise.resolve('-');
  const url = new URL(path, http);
  const secure = url.protocol === 'https:';
  const opts: RequestOptions = { timeout: timeoutMs, headers: auth.token === undefined ? {} : { authorization: `Bearer ${auth.token}` } };
  if (secure && auth.tls?.ca !== undefined) opts.ca = auth.tls.ca;
  return new Promise((resolve) => {
    const req = (secure ? httpsRequest : httpRequest)(url, opts, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 300 ? 'ok' : `fail ${status}`);
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.once('close', () => clearTimeout(timer));
    req.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      resolve(code === 'CERT_HAS_EXPIRED' ? 'cert expired' : /ALTNAME/.test(code) ? 'cert name' : /CERT|SELF_SIGNED|UNABLE_TO/.test(code) ? 'untrusted cert' : 'down');
    });
    req.end();
  });
}

/** Short table labels for what diagnose.ts found. */
const HELLO_LABELS: Record<DiagnosisKind, string> = {
  refused: 'down',
  unresolved: 'no such host',
  'no-answer': 'no answer',
  'tls-required': 'speaks TLS',
  'not-tls': 'no TLS',
  'tls-untrusted': 'untrusted cert',
  'tls-expired': 'cert expired',
  'tls-name': 'cert name',
  'http-port': 'HTTP port',
  'not-websocket': 'not WebSocket',
  unauthorized: 'HTTP 401',
  unavailable: 'HTTP 503',
  'websocket-ok': 'no hello',
};

function sameRanges(a: ShardRanges, b: ShardRanges): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);
}

/** Connect to the endpoint alone and compare its hello with the fleet file. */
async function helloStatus(m: FleetMember, auth: Auth, timeoutMs: number): Promise<{ hello: string; helloDetail?: string }> {
  let said: { service: string; shards: ShardRanges } | undefined;
  try {
    const client = await PharaohClient.connect(
      { endpoints: [m.endpoint] },
      { ...auth, connectTimeoutMs: timeoutMs, timeoutMs, onStatus: (e) => (e.type === 'connect' ? (said = e) : undefined) },
    );
    await client.close();
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    const d = await diagnoseEndpoint(m.endpoint, { token: auth.token, ca: auth.tls?.ca, timeoutMs });
    return { hello: HELLO_LABELS[d.kind], helloDetail: d.message ?? err.message };
  }
  if (said === undefined) return { hello: 'no hello', helloDetail: 'sent no hello' };
  if (said.service !== m.service) {
    return { hello: `${said.service}, not ${m.service}`, helloDetail: `is a ${said.service} endpoint, but the fleet file lists it under ${m.service}` };
  }
  if (!sameRanges(said.shards, m.shards)) {
    const has = formatShardRanges(said.shards) || '(none)';
    return { hello: `shards ${has}`, helloDetail: `hosts ${m.service} shards ${has}, the fleet file says ${formatShardRanges(m.shards)}` };
  }
  return { hello: 'ok' };
}

async function memberStatus(m: FleetMember, pids: Map<string, number>, auth: Auth, timeoutMs: number): Promise<MemberStatus> {
  const [health, ready, hello] = await Promise.all([
    probe(m.http, '/healthz', auth, timeoutMs),
    probe(m.http, '/readyz', auth, timeoutMs),
    helloStatus(m, auth, timeoutMs),
  ]);
  const pid = pids.get(m.label);
  return {
    service: m.service,
    endpoint: m.endpoint,
    shards: formatShardRanges(m.shards),
    http: m.http ?? '-',
    health,
    ready,
    ...hello,
    pid: pid !== undefined && isOurProcess(pid, memberMarkers(m.service)) ? pid : undefined,
  };
}

/**
 * Probe every process of the fleet. `allReady`: every process answers /readyz
 * (or has no HTTP port) and says hello as the file expects. Pids come from the
 * pid file of a fleet started by `fleet up`.
 */
export async function fleetStatus(file?: string, o: StatusOptions = {}): Promise<{ rows: MemberStatus[]; allReady: boolean; source: string }> {
  const fleet = loadFleet(file);
  const auth = authOptions(o);
  const timeoutMs = o.timeout ?? DEFAULT_STATUS_TIMEOUT_MS;
  const pf = readPidFile(fleet.dataDir);
  const pids = new Map((pf?.children ?? []).map((c) => [c.label, c.pid]));
  const rows = await Promise.all(fleet.members.map((m) => memberStatus(m, pids, auth, timeoutMs)));
  const allReady = rows.every((r) => (r.ready === 'ok' || r.ready === '-') && r.hello === 'ok');
  return { rows, allReady, source: fleet.source };
}

/** The table, then one line per process whose hello is not as expected. */
export function formatStatus(rows: MemberStatus[]): string {
  const table = formatTable(
    ['service', 'endpoint', 'shards', 'http', 'health', 'ready', 'hello', 'pid'],
    rows.map((r) => [r.service, r.endpoint, r.shards, r.http, r.health, r.ready, r.hello, r.pid === undefined ? '-' : String(r.pid)]),
  );
  const details = rows.filter((r) => r.helloDetail !== undefined).map((r) => `${r.endpoint}: ${r.helloDetail}`);
  return details.length === 0 ? table : `${table}\n\n${details.join('\n')}`;
}
