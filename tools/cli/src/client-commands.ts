/**
 * The operator client: `pharaoh ts`, `pharaoh tx …`, `pharaoh session …`,
 * through @pharaoh/client against the default fleet, a fleet file, or
 * explicit endpoints.
 */
import { readFileSync } from 'node:fs';
import { ConnectError, PharaohClient } from '@pharaoh/client';
import type { ClientOptions, FleetSource } from '@pharaoh/client';
import type { Registry } from '@pharaoh/registry';
import { CliError, CLI_ERROR_CODES } from './errors.js';
import { parseId } from './decode.js';
import { DEFAULT_FLEET_SOURCE, loadFleet } from './fleet-file.js';

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

/** Where to connect: `--endpoint` URLs, else the `--fleet` file, else the default fleet. */
export function sourceOf(o: TargetOptions): FleetSource {
  if (o.endpoint !== undefined && o.endpoint.length > 0) return { endpoints: o.endpoint };
  return { fleet: loadFleet(o.fleet, o.services).file as import('@pharaoh/client').FleetFile };
}

/** Connect, run `body`, always close (so the process can exit). */
export async function withClient<T>(o: TargetOptions, body: (c: PharaohClient) => Promise<T>): Promise<T> {
  let client: PharaohClient;
  try {
    const timeouts = o.timeout === undefined ? {} : { timeoutMs: o.timeout, connectTimeoutMs: o.timeout };
    client = await PharaohClient.connect(sourceOf(o), { ...timeouts, ...authOptions(o), ...(o.services === undefined ? {} : { services: o.services }) });
  } catch (err) {
    if (err instanceof ConnectError) {
      const where = o.endpoint?.length ? o.endpoint.join(', ') : (o.fleet ?? DEFAULT_FLEET_SOURCE);
      // A refused upgrade (401/403) means the fleet runs but wants credentials: say that, not "is it running?".
      const hint = /\bHTTP 40[13]\b/.test(err.message)
        ? 'The fleet refused the credentials: pass a token with --token-file <file> or PHARAOH_TOKEN (docs/SECURITY.md).'
        : 'Is the fleet running? Start it with `npx pharaoh fleet up`.';
      throw new CliError(CLI_ERROR_CODES.START_FAILED, `cannot reach ${where}: ${err.message}\n  ${hint}`, { cause: err });
    }
    throw err;
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
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `--count must be an integer in 1..1000000, got ${count}`);
  }
  const print = printer(o);
  await withClient(o, async (c) => {
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
  await withClient(o, async (c) => {
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
  await withClient(o, async (c) => {
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
  return withClient(o, async (c) => {
    const status = await c.sessions.validate({ sessionId, epoch: Number(epoch) });
    print(status);
    return status === 'OK' ? 0 : 1;
  });
}
