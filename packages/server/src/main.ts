import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { formatShardRanges } from '@pharaoh/protocol';
import type { ServiceSpec } from '@pharaoh/registry';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import { parseAppOptions, startServer } from './server.js';
import type { HostedService, RunningServer, ServerOptions, ServiceDefinition, StartSummary } from './types.js';

/** Any app's definition: the command line only reads its spec and CLI options. */
type AnyDefinition = Pick<ServiceDefinition, 'spec' | 'cliOptions'>;
import { parseTokenLines } from './auth.js';
import { DEFAULT_HOST, DEFAULT_LOG_LEVEL } from './options.js';

/** What `parseServiceArgs` returns: the server options plus every parsed flag (commander's camelCase names). */
export interface ParsedServiceArgs {
  options: ServerOptions;
  parsed: Record<string, unknown>;
}

/** Extra time past shutdownTimeoutMs before a stuck shutdown is cut short with exit 1. */
const SHUTDOWN_GRACE_MS = 5_000;

function intArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/**
 * The command line shared by every app (`--shards --port --http-port --host --data --log-level` and limits),
 * each flag also read from a PHARAOH_* environment variable, plus the app's own `def.cliOptions`.
 */
export function buildCommand(def: AnyDefinition): Command {
  const cmd = new Command(`pharaoh-${def.spec.name}`)
    .description(`Pharaoh ${def.spec.name} (${def.spec.title}) shard host`)
    .allowExcessArguments(false)
    .addOption(new Option('--shards <ranges>', 'shard ids to host, e.g. 0-255,512').env('PHARAOH_SHARDS').default('0-1023'))
    .addOption(new Option('--data <dir>', 'data directory; shards live in <dir>/<service>/shard-<id>/').env('PHARAOH_DATA').default('./data'))
    .addOption(new Option('--host <host>', 'interface to listen on').env('PHARAOH_HOST').default(DEFAULT_HOST))
    .addOption(new Option('--port <port>', 'WebSocket port (0 = any free port)').env('PHARAOH_PORT').argParser(intArg).default(0))
    .addOption(new Option('--http-port <port>', '/healthz /readyz /metrics port (0 = any free port)').env('PHARAOH_HTTP_PORT').argParser(intArg).default(0))
    .addOption(new Option('--log-level <level>', 'pino log level').env('PHARAOH_LOG_LEVEL').default(DEFAULT_LOG_LEVEL))
    .addOption(new Option('--window-ms <ms>', 'how far ahead the durable time bound is kept').env('PHARAOH_WINDOW_MS').argParser(intArg))
    .addOption(new Option('--max-lead-ms <ms>', 'how far IDs may borrow from the future before callers wait').env('PHARAOH_MAX_LEAD_MS').argParser(intArg))
    .addOption(
      new Option('--max-clock-skew-ms <ms>', "how far another shard's clock may be ahead: an after within lead + skew waits, beyond it is refused (default 1000)")
        .env('PHARAOH_MAX_CLOCK_SKEW_MS')
        .argParser(intArg),
    )
    .addOption(new Option('--max-frame-bytes <n>', 'largest accepted frame').env('PHARAOH_MAX_FRAME_BYTES').argParser(intArg))
    .addOption(new Option('--max-in-flight <n>', 'requests in flight per connection').env('PHARAOH_MAX_IN_FLIGHT').argParser(intArg))
    .addOption(new Option('--max-count <n>', 'largest count per batch request').env('PHARAOH_MAX_COUNT').argParser(intArg))
    .addOption(new Option('--max-connections <n>', 'open connections').env('PHARAOH_MAX_CONNECTIONS').argParser(intArg))
    .addOption(new Option('--idle-timeout-ms <ms>', 'close connections idle this long (0 = never)').env('PHARAOH_IDLE_TIMEOUT_MS').argParser(intArg))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve wss:// (and https:// on the HTTP port)').env('PHARAOH_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('PHARAOH_TLS_KEY'))
    .addOption(new Option('--http-plain', 'with TLS, keep the HTTP port (health, metrics) in plain HTTP').env('PHARAOH_HTTP_PLAIN'))
    .addOption(new Option('--token-file <file>', 'accepted bearer tokens, one "client:<token>" or "admin:<token>" per line (re-read on SIGHUP)').env('PHARAOH_TOKEN_FILE'))
    .addOption(new Option('--insecure', 'allow a non-loopback --host without any token').env('PHARAOH_INSECURE'))
    .addOption(new Option('--metrics-per-shard', 'also export per-shard series on /metrics (off: bounded cardinality)').env('PHARAOH_METRICS_PER_SHARD'))
    .addOption(new Option('--shutdown-timeout-ms <ms>', 'how long shutdown waits for in-flight requests').env('PHARAOH_SHUTDOWN_TIMEOUT_MS').argParser(intArg));
  for (const o of def.cliOptions ?? []) {
    const opt = new Option(o.flags, o.description);
    if (o.env) opt.env(o.env);
    if (o.defaultValue !== undefined) opt.default(o.defaultValue);
    cmd.addOption(opt);
  }
  return cmd;
}

/** Parse `argv` (process.argv style: node, script, ...flags) into ServerOptions. Throws on bad flags. */
export function parseServiceArgs(def: AnyDefinition, argv: string[]): ParsedServiceArgs {
  const cmd = buildCommand(def).exitOverride();
  cmd.parse(argv, { from: 'node' });
  const p = cmd.opts<Record<string, unknown>>();
  const limits: Record<string, number> = {};
  for (const key of ['maxFrameBytes', 'maxInFlight', 'maxCount', 'maxConnections', 'idleTimeoutMs'] as const) {
    if (p[key] !== undefined) limits[key] = p[key] as number;
  }
  const app: Record<string, unknown> = {};
  for (const o of def.cliOptions ?? []) {
    const name = new Option(o.flags).attributeName();
    if (p[name] !== undefined) app[name] = p[name];
  }
  const options: ServerOptions = {
    shards: p.shards as string,
    dataDir: p.data as string,
    host: p.host as string,
    port: p.port as number,
    httpPort: p.httpPort as number,
    logLevel: p.logLevel as string,
    limits,
    app,
    ...(p.windowMs === undefined ? {} : { windowMs: p.windowMs as number }),
    ...(p.maxLeadMs === undefined ? {} : { maxLeadMs: p.maxLeadMs as number }),
    ...(p.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: p.maxClockSkewMs as number }),
    ...(p.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: p.shutdownTimeoutMs as number }),
    ...securityOptions(p),
    ...(isTrue(p.metricsPerShard) ? { metrics: { perShard: true } } : {}),
  };
  return { options, parsed: p };
}

/** `--tls-*`, `--token-file` (+ PHARAOH_TOKENS), `--insecure` → ServerOptions fields. */
function securityOptions(p: Record<string, unknown>): Pick<ServerOptions, 'tls' | 'auth' | 'insecure'> {
  const out: Pick<ServerOptions, 'tls' | 'auth' | 'insecure'> = {};
  if (p.tlsCert !== undefined || p.tlsKey !== undefined) {
    if (typeof p.tlsCert !== 'string' || typeof p.tlsKey !== 'string') {
      throw new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, '--tls-cert and --tls-key go together');
    }
    out.tls = { certFile: p.tlsCert, keyFile: p.tlsKey, http: !isTrue(p.httpPlain) };
  }
  const inline = process.env.PHARAOH_TOKENS;
  const tokens = inline === undefined || inline.trim() === '' ? [] : parseTokenLines(inline, 'PHARAOH_TOKENS');
  const tokenFile = typeof p.tokenFile === 'string' && p.tokenFile.trim() !== '' ? p.tokenFile : undefined;
  if (tokenFile !== undefined || tokens.length > 0) out.auth = { tokens, ...(tokenFile === undefined ? {} : { tokenFile }) };
  if (isTrue(p.insecure)) out.insecure = true;
  return out;
}

/** A boolean flag, or its environment variable ('1', 'true', 'yes'). */
function isTrue(v: unknown): boolean {
  return v === true || (typeof v === 'string' && /^(1|true|yes)$/i.test(v.trim()));
}

/**
 * The one entry path of every service: each app's `main.ts` and `pharaoh
 * serve <service>` both call this. Parse argv and PHARAOH_* variables, check
 * the app's own options (before anything touches the disk), start, print where
 * it listens (the JSON `listening` log line on stdout, a human line on
 * stderr), shut down gracefully on SIGTERM/SIGINT and exit 0. On bad flags or
 * a start error, print a clear message on stderr and exit 1.
 */
export async function runServiceMain<Spec extends ServiceSpec, S, O>(definition: ServiceDefinition<Spec, S, O>, argv: string[] = process.argv): Promise<void> {
  const def = definition;
  const name = def.spec.name;
  let server: RunningServer;
  let options: ServerOptions;
  try {
    options = parseServiceArgs(def, argv).options;
    // startServer checks them again; here a refusal is a usage error, not a failed start.
    parseAppOptions(def, options.app ?? {});
  } catch (err) {
    // commander already printed usage errors and help; exit codes: 0 for --help, 1 otherwise.
    const code = (err as { exitCode?: number }).exitCode;
    if (err instanceof ServerError) process.stderr.write(`pharaoh ${name}: ${err.message} [${err.code}]\n`);
    process.exit(typeof code === 'number' ? code : 1);
  }
  const logger = options.logger ?? pino({ level: options.logLevel ?? DEFAULT_LOG_LEVEL });
  try {
    server = await startServer(definition, { ...options, logger });
  } catch (err) {
    const what = err instanceof ServerError ? `${err.message} [${err.code}]` : (err as Error)?.stack ?? String(err);
    logger.fatal({ err }, 'start failed');
    process.stderr.write(`pharaoh ${name}: start failed: ${what}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `pharaoh ${name} listening on ${server.url} (shards ${formatShardRanges(server.shards)}, opened in ${Math.round(server.openMs)} ms${startDetails(server.start)}); ${server.httpUrl} serves /healthz /readyz /metrics\n`,
  );
  process.on('SIGHUP', () => {
    try {
      server.reload();
    } catch (err) {
      // Keep serving with the previous tokens and certificate.
      logger.error({ err }, 'reload failed; keeping the previous tokens and certificate');
      process.stderr.write(`pharaoh ${name}: reload failed: ${(err as Error).message}\n`);
    }
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`pharaoh ${name}: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received, shutting down');
    const limit = (options.shutdownTimeoutMs ?? 10_000) + SHUTDOWN_GRACE_MS;
    setTimeout(() => {
      process.stderr.write(`pharaoh ${name}: shutdown took longer than ${limit} ms, exiting\n`);
      process.exit(1);
    }, limit).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The start's figures worth a glance, for the one human line: ", 1024 new, 3,211 journal records replayed, slowest shard 17: 41 ms". */
function startDetails(s: StartSummary): string {
  const parts: string[] = [];
  if (s.firstOpens > 0) parts.push(`${s.firstOpens} new`);
  if (s.replayedRecords > 0) parts.push(`${s.replayedRecords} journal record(s) replayed`);
  if (s.slowestShard !== undefined && s.shards > 1) parts.push(`slowest shard ${s.slowestShard.shard}: ${Math.round(s.slowestShard.ms)} ms`);
  return parts.map((p) => `, ${p}`).join('');
}
