/**
 * The operator client: `pharaoh ts`, `pharaoh tx …`, `pharaoh session …`,
 * through @pharaoh/client against the default fleet, a fleet file, or
 * explicit endpoints.
 */
import { readFileSync } from 'node:fs';
import { ConnectError, DEFAULT_TIMEOUT_MS, PharaohClient } from '@pharaoh/client';
import type { ClientOptions, FleetFile as ClientFleetFile, FleetSource, SchemaFormat } from '@pharaoh/client';
import { REGISTRY, SCHEMA_REGISTRY, type Registry } from '@pharaoh/registry';

/** The formats schema.register accepts, from the registry entry. */
const SCHEMA_FORMATS: readonly string[] = SCHEMA_REGISTRY.ops['schema.get'].result.format;
import { CliError, CLI_ERROR_CODES } from './errors.js';
import { parseId } from './decode.js';
import { TS_MAX_COUNT } from './limits.js';
import { diagnoseEndpoint } from './diagnose.js';
import { loadFleet } from './fleet-file.js';

export interface TargetOptions {
  fleet?: string;
  endpoint?: string[];
  timeout?: number;
  /** File holding the bearer token (its first non-comment line; a `role:` prefix is ignored). Else PHARAOH_TOKEN. */
  tokenFile?: string;
  /** PEM CA bundle to trust for wss:// endpoints. Else PHARAOH_CA_FILE. */
  caFile?: string;
  /** The services to know (default: the production registry). */
  services?: Registry;
  print?: (line: string) => void;
}

function readOrFail(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Token and TLS options for the client: `--token-file` or PHARAOH_TOKEN,
 * `--ca-file` or PHARAOH_CA_FILE. The token is never printed.
 */
export function authOptions(o: TargetOptions, env: NodeJS.ProcessEnv = process.env): Pick<ClientOptions, 'token' | 'tls'> {
  const out: Pick<ClientOptions, 'token' | 'tls'> = {};
  if (o.tokenFile !== undefined) {
    const line = readOrFail(o.tokenFile, 'token file')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('#'));
    if (line === undefined) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `token file ${o.tokenFile} holds no token`);
    // Accept the server's file format too: `client:<token>` (tokens never contain ':').
    out.token = line.slice(line.indexOf(':') + 1);
  } else if (env.PHARAOH_TOKEN !== undefined && env.PHARAOH_TOKEN.trim() !== '') {
    out.token = env.PHARAOH_TOKEN.trim();
  }
  const caFile = o.caFile ?? env.PHARAOH_CA_FILE;
  if (caFile !== undefined && caFile !== '') out.tls = { ca: readOrFail(caFile, 'CA file') };
  return out;
}

/** Where to connect for one service, and how to name it in messages. */
export interface Target {
  source: FleetSource;
  /** The endpoints tried (their service is unknown for `--endpoint`). */
  endpoints: string[];
  /** `ws://…` for `--endpoint`, else the fleet file or `(default fleet)`. */
  label: string;
  /** How to start what is missing, for the "nothing is listening" hint. */
  startHint: string;
}

/**
 * Where to connect: `--endpoint` URLs, else the `--fleet` file's (or the
 * default fleet's) endpoints of `service` only — every CLI command talks to one
 * service, and an unreachable other service must not hide the reason this one failed.
 */
export function targetOf(o: TargetOptions, service: string): Target {
  if (o.endpoint !== undefined && o.endpoint.length > 0) {
    for (const e of o.endpoint) {
      if (!/^wss?:\/\/[^/]/.test(e)) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `--endpoint ${e} is not a ws:// or wss:// URL (e.g. ws://127.0.0.1:7100)`);
    }
    return { source: { endpoints: o.endpoint }, endpoints: o.endpoint, label: o.endpoint.join(', '), startHint: 'is the process running?' };
  }
  const fleet = loadFleet(o.fleet, o.services);
  const members = fleet.file.services[service] ?? [];
  if (members.length === 0) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `${fleet.source} lists no ${service} endpoint`);
  const up = o.fleet === undefined ? 'npx pharaoh fleet up' : `npx pharaoh fleet up ${o.fleet}`;
  return {
    source: { fleet: { services: { [service]: members } } as ClientFleetFile },
    endpoints: members.map((m) => m.endpoint),
    label: fleet.source,
    startHint: `is the fleet running? Start it with \`${up}\``,
  };
}

/** At most this many endpoints are probed and listed in one failure message. */
const MAX_EXPLAINED = 8;

/** One line per endpoint that could not be used, each saying why (probed, see diagnose.ts). */
async function explainUnreachable(endpoints: string[], t: Target, auth: Pick<ClientOptions, 'token' | 'tls'>, timeoutMs: number): Promise<string[]> {
  const probed = endpoints.slice(0, MAX_EXPLAINED);
  const lines = await Promise.all(
    probed.map(async (e) => {
      const d = await diagnoseEndpoint(e, { token: auth.token, ca: auth.tls?.ca, timeoutMs: Math.min(timeoutMs, 3_000) });
      if (d.message === undefined) return `${e}: the WebSocket opens but no Pharaoh hello arrives: is this a Pharaoh endpoint?`;
      return `${e}: ${d.message}${d.kind === 'refused' ? ` — ${t.startHint}` : ''}`;
    }),
  );
  if (endpoints.length > probed.length) lines.push(`… and ${endpoints.length - probed.length} more`);
  return lines;
}

/** `ws://…:7200 is a txcoord endpoint, not tso`, and where tso is in the default fleet when the port is a default one. */
export function wrongServiceLine(endpoint: string, got: string, want: string, t: Target, registry: Registry = REGISTRY): string {
  const listed = 'fleet' in t.source ? ` (${t.label} lists it under ${want})` : '';
  const port = Number(new URL(endpoint).port);
  const [gotPorts, wantPorts] = [registry.find(got)?.ports, registry.find(want)?.ports];
  const dflt = gotPorts !== undefined && wantPorts !== undefined && port === gotPorts.ws ? `; the default fleet's ${want} is on port ${wantPorts.ws}` : '';
  return `${endpoint} is a ${got} endpoint, not ${want}${listed}${dflt}`;
}

function failure(service: string, lines: string[]): CliError {
  const text = lines.length === 1 ? lines[0]! : `no ${service} endpoint can be used:\n${lines.map((l) => `  ${l}`).join('\n')}`;
  return new CliError(CLI_ERROR_CODES.UNREACHABLE, text);
}

/**
 * Connect to `service`, run `body`, always close (so the process can exit).
 * Fails fast, naming the cause per endpoint: an endpoint of another service
 * (its hello says which) and an endpoint that cannot be reached (probed).
 */
export async function withClient<T>(o: TargetOptions, service: string, body: (c: PharaohClient) => Promise<T>): Promise<T> {
  const auth = authOptions(o);
  const t = targetOf(o, service);
  const hellos = new Map<string, string>();
  const timeoutMs = o.timeout ?? DEFAULT_TIMEOUT_MS;
  let client: PharaohClient;
  try {
    client = await PharaohClient.connect(t.source, {
      ...(o.timeout === undefined ? {} : { timeoutMs: o.timeout, connectTimeoutMs: o.timeout }),
      ...auth,
      ...(o.services === undefined ? {} : { services: o.services }),
      onStatus: (e) => {
        if (e.type === 'connect') hellos.set(e.endpoint, e.service);
      },
    });
  } catch (err) {
    if (err instanceof ConnectError) throw failure(service, await explainUnreachable(t.endpoints, t, auth, timeoutMs));
    throw err;
  }
  if (![...hellos.values()].includes(service)) {
    // No endpoint of this service answered: a call would only wait out its timeout.
    await client.close();
    const wrong = [...hellos].map(([e, got]) => wrongServiceLine(e, got, service, t, o.services));
    const silent = t.endpoints.filter((e) => !hellos.has(e));
    throw failure(service, [...wrong, ...(await explainUnreachable(silent, t, auth, timeoutMs))]);
  }
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

const printer = (o: TargetOptions) => o.print ?? ((line: string) => process.stdout.write(line + '\n'));

/** `pharaoh ts [--count n] [--key k]`: one timestamp per line, in increasing order. */
export async function tsCommand(o: TargetOptions & { count?: number; key?: string }): Promise<void> {
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > TS_MAX_COUNT) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `--count must be an integer in 1..${TS_MAX_COUNT}, got ${count}`);
  }
  const print = printer(o);
  await withClient(o, 'tso', async (c) => {
    const keyOpts = o.key === undefined ? undefined : { key: o.key };
    for (let left = count; left > 0; ) {
      const { first, count: got } = await c.tso.range(left, keyOpts);
      for (let i = 0n; i < BigInt(got); i++) print(String(first + i));
      left -= got;
    }
  });
}

/** `pharaoh tx begin | commit <txId> | abort <txId> | status <txId>`. */
export async function txCommand(verb: 'begin' | 'commit' | 'abort' | 'status', id: string | undefined, o: TargetOptions & { txTimeout?: number }): Promise<void> {
  const print = printer(o);
  const txId = id === undefined ? undefined : parseId(id, 'txId');
  await withClient(o, 'txcoord', async (c) => {
    switch (verb) {
      case 'begin': {
        const r = await c.tx.begin(o.txTimeout === undefined ? {} : { timeoutMs: o.txTimeout });
        print(`txId ${r.txId}\nstartTs ${r.startTs}\ntimeoutMs ${r.timeoutMs}`);
        print(`(commit with: npx pharaoh tx commit ${r.txId})`);
        return;
      }
      case 'commit':
        print(`committed ${txId} commitTs ${(await c.tx.commit(txId!)).commitTs}`);
        return;
      case 'abort':
        await c.tx.abort(txId!);
        print(`aborted ${txId}`);
        return;
      case 'status':
        print(await c.tx.status(txId!));
        return;
    }
  });
}

/** `pharaoh session open [--producer name]`. */
export async function sessionOpenCommand(o: TargetOptions & { producer?: string }): Promise<void> {
  const print = printer(o);
  await withClient(o, 'session-mgr', async (c) => {
    const s = await c.sessions.open(o.producer === undefined ? {} : { producer: o.producer });
    print(`sessionId ${s.sessionId}\nepoch ${s.epoch}\ntimeoutMs ${s.timeoutMs}`);
  });
}

/** `pharaoh session validate <sessionId> <epoch>`: prints OK/FENCED/EXPIRED/UNKNOWN; exit status 0 only for OK. */
export async function sessionValidateCommand(id: string, epoch: string, o: TargetOptions): Promise<number> {
  const sessionId = parseId(id, 'sessionId');
  if (!/^\d+$/.test(epoch.trim()) || Number(epoch) > 0x7fff_ffff) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `epoch "${epoch}" must be a non-negative integer`);
  }
  const print = printer(o);
  return withClient(o, 'session-mgr', async (c) => {
    const status = await c.sessions.validate({ sessionId, epoch: Number(epoch) });
    print(status);
    return status === 'OK' ? 0 : 1;
  });
}

/** `pharaoh schema register --subject S --format F (--schema TEXT | --file PATH)`: prints schemaId and version (the same again for the same schema). */
export async function schemaRegisterCommand(o: TargetOptions & { subject: string; format: string; schema?: string; file?: string }): Promise<void> {
  if ((o.schema === undefined) === (o.file === undefined)) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, 'give the schema with exactly one of --schema <text> or --file <path>');
  let text = o.schema;
  if (o.file !== undefined) {
    try {
      text = readFileSync(o.file, 'utf8');
    } catch (err) {
      throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `cannot read --file ${o.file}: ${(err as Error).message}`);
    }
  }
  const format = o.format.toUpperCase();
  if (!SCHEMA_FORMATS.includes(format)) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `--format must be one of ${SCHEMA_FORMATS.join(', ')}, got "${o.format}"`);
  const print = printer(o);
  await withClient(o, 'schema-registry', async (c) => {
    const r = await c.schemas.register(o.subject, text!, format as SchemaFormat);
    print(`schemaId ${r.schemaId}\nversion ${r.version}`);
  });
}

/** `pharaoh schema get <schemaId>` / `pharaoh schema latest <subject>`: subject, version, format, then the schema text. */
export async function schemaShowCommand(what: 'get' | 'latest', arg: string, o: TargetOptions): Promise<void> {
  const print = printer(o);
  await withClient(o, 'schema-registry', async (c) => {
    const r = what === 'get' ? { schemaId: parseId(arg, 'schemaId'), ...(await c.schemas.get(parseId(arg, 'schemaId'))) } : { subject: arg, ...(await c.schemas.latest(arg)) };
    print(`schemaId ${r.schemaId}\nsubject ${r.subject}\nversion ${r.version}\nformat ${r.format}\n${r.schema}`);
  });
}

/** `pharaoh offsets assign <partition> [--count n]`: the first offset and the count (dense per partition). */
export async function offsetsAssignCommand(partition: string, o: TargetOptions & { count?: number }): Promise<void> {
  const print = printer(o);
  await withClient(o, 'sequencer', async (c) => {
    const r = await c.offsets.assign(partition, o.count ?? 1);
    print(`first ${r.first}\ncount ${r.count}`);
  });
}

/** `pharaoh cdc next <table> [--count n]`: one CDC event id per line, increasing. */
export async function cdcNextCommand(table: string, o: TargetOptions & { count?: number }): Promise<void> {
  const print = printer(o);
  await withClient(o, 'sequencer', async (c) => {
    for (let left = o.count ?? 1; left > 0; ) {
      const { first, count } = await c.cdc.next(table, left);
      for (let i = 0n; i < BigInt(count); i++) print(String(first + i));
      left -= count;
    }
  });
}

/** `pharaoh group offsets <group>`: the group's committed offsets, one `topic partition offset` per line. */
export async function groupOffsetsCommand(group: string, o: TargetOptions): Promise<void> {
  const print = printer(o);
  await withClient(o, 'group-coord', async (c) => {
    const offsets = await c.groups.fetchOffsets(group);
    if (offsets.length === 0) print('(no committed offsets)');
    for (const x of offsets) print(`${x.topic} ${x.partition} ${x.offset}${x.metadata === '' ? '' : ` ${x.metadata}`}`);
  });
}
