/**
 * The `pharaoh` command line. Every command's failure is one clear message on
 * stderr and a non-zero exit status; no stack traces for operator mistakes.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TIMEOUT_MS } from '@pharaoh/client';
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, PROTOCOL_VERSION } from '@pharaoh/protocol';
import { REGISTRY, serviceTable, type Registry } from '@pharaoh/registry';
import pkg from '../package.json' with { type: 'json' };
import { CliError, CLI_ERROR_CODES } from './errors.js';
import { DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from './fleet/supervisor.js';
import { formatTable } from './decode.js';
import { TS_MAX_COUNT } from './limits.js';
import type { ServiceLoader } from './serve.js';

/** What `pharaoh --version` prints: the CLI's version, the wire protocol it speaks, the Node running it. */
export const VERSION_TEXT = `pharaoh ${pkg.version} (wire protocol v${PROTOCOL_VERSION}, Node ${process.version})`;

/**
 * An integer option in [min, max]. Every bad value (0, -1, 1.5, abc) gets the
 * same message naming the range, so `--count 0` and `--count -1` read alike.
 */
export function intIn(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const t = value.trim();
    const n = Number(t);
    if (!/^-?\d+$/.test(t) || n < min || n > max) throw new InvalidArgumentError(`Expected an integer in ${min}..${max}.`);
    return n;
  };
}
/** A time in ms where 0 would mean "fail at once": 1 ms .. 1 h. */
const positiveMs = intIn(1, 3_600_000);
/** A grace period may be 0 (SIGKILL at once). */
const graceMs = intIn(0, 3_600_000);

/** A service name from a flag, checked against the registry (no server code loaded). */
function serviceName(name: string, registry: Registry): string {
  if (!registry.has(name)) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `unknown service "${name}": expected one of ${registry.names.join(', ')}`);
  return name;
}

function out(text: string): void {
  process.stdout.write(text + '\n');
}

/** Run a command body; CliError (and any other error) → message on stderr, exit 1. */
function run(body: (...args: any[]) => Promise<number | void> | number | void) {
  return async (...args: unknown[]) => {
    try {
      const code = await body(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (err) {
      const e = err as Error & { code?: string };
      const tag = err instanceof CliError ? '' : e.code ? ` [${e.code}]` : '';
      process.stderr.write(`pharaoh: ${e.message ?? String(err)}${tag}\n`);
      process.exitCode = 1;
    }
  };
}

/**
 * The `pharaoh` program for the services of `registry` (default: the
 * production registry). `load` finds a service's implementation for `serve`
 * (default: `apps/<name>/src/service.ts`); tests pass both to prove that a
 * new service needs nothing here.
 */
export function buildProgram(registry: Registry = REGISTRY, load?: ServiceLoader): Command {
  const names = registry.names;
  const program = new Command('pharaoh')
    .description('Pharaoh: unique, monotonic, crash-safe 64-bit IDs — fleets, operator client, tools')
    .version(VERSION_TEXT, '-V, --version', 'print the version')
    // Usage errors: commander's one-line message under our name, then a pointer to the help (not all of it).
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'pharaoh: ')) })
    .showHelpAfterError('(add --help for usage)');

  program
    .command('serve')
    .description(`run one shard host: pharaoh serve <${names.join('|')}> --shards 0-1023 --port <port> --http-port <port> --data ./data`)
    .argument('<service>', names.join(', '))
    .argument('[flags...]', 'server flags (see `pharaoh serve <service> --help`)')
    .allowUnknownOption()
    // The flags belong to the server's own command line, help included: see serve-help.ts.
    .helpOption(false)
    .action(
      run(async (service: string, flags: string[]) => {
        const { loadAppService, parseService, serve } = await import('./serve.js');
        const help = await import('./serve-help.js');
        const loader = load ?? loadAppService;
        if (service === '--help' || service === '-h') return out(help.serveOverviewHelp(await loader(registry.services[0]!), registry).trimEnd());
        const spec = parseService(service, registry);
        const def = await loader(spec);
        if (help.wantsHelp(flags)) return out(help.serveHelp(def).trimEnd());
        help.checkServeFlags(def, flags);
        await serve(spec, flags, loader);
      }),
    );

  program
    .command('services')
    .description('list the services of the registry: layout, default ports, shards per pod, ops')
    .option('--json', 'print JSON')
    .option('--markdown', 'print the table of docs/DESIGN.md')
    .option('--names', 'print the names only, one per line (deploy/entrypoint.sh checks PHARAOH_SERVICE so)')
    .action(
      run((o: { json?: boolean; markdown?: boolean; names?: boolean }) => {
        if (o.names) return out(names.join('\n'));
        if (o.markdown) return out(serviceTable(registry));
        const rows = registry.services.map((s) => ({
          name: s.name,
          title: s.title,
          layout: `${s.layout.name} ${s.layout.timeBits}|${s.layout.shardBits}|${s.layout.seqBits}`,
          ports: `${s.ports.ws}/${s.ports.http}`,
          shardsPerPod: s.shardsPerPod,
          ops: Object.keys(s.ops),
        }));
        if (o.json) return out(JSON.stringify(rows, null, 2));
        out(formatTable(['service', 'what', 'layout', 'ws/http', 'shards/pod', 'ops'], rows.map((r) => [r.name, r.title, r.layout, r.ports, String(r.shardsPerPod), r.ops.join(' ')])));
      }),
    );

  addFleetCommands(program, registry);

  program
    .command('decode')
    .description('print what an ID means: its date, shard and sequence, under the layout it likely comes from')
    .argument('<id>', 'the 64-bit ID, decimal or hex (0x…)')
    .option('--layout <layout>', `read it as one layout: ${[...new Set(registry.services.map((s) => s.layout.name))].join(', ')} (or a service name: ${names.join(', ')}); default: the likely one, named`)
    .option('--json', 'print JSON (every reading, and the likely or chosen layout)')
    .action(
      run(async (id: string, o: { json?: boolean; layout?: string }) => {
        const { decodedJson, formatDecoded, parseId, parseLayout } = await import('./decode.js');
        const value = parseId(id);
        const opts = o.layout === undefined ? { registry } : { registry, layout: parseLayout(o.layout, registry) };
        out(o.json ? JSON.stringify(decodedJson(value, opts), null, 2) : formatDecoded(value, opts));
      }),
    );

  program
    .command('backup')
    .description('copy one service\'s shards from a data dir, live (no shard stops), into a tar file (docs/OPERATIONS.md)')
    .requiredOption('--service <service>', names.join(', '))
    .requiredOption('--out <file>', 'the backup file to write')
    .option('--data <dir>', 'the data directory of the processes hosting the shards', './data')
    .option('--shards <ranges>', 'only these shards (e.g. one process\'s of a shared data dir: 0-31); default: every shard of the service')
    .action(
      run(async (o: { service: string; out: string; data: string; shards?: string }) => {
        const { backup } = await import('./backup.js');
        const { parseShardRanges, expandShardRanges } = await import('@pharaoh/protocol');
        let only: Set<number> | undefined;
        try {
          only = o.shards === undefined ? undefined : new Set(expandShardRanges(parseShardRanges(o.shards)));
        } catch (err) {
          throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `--shards ${(err as Error).message}`);
        }
        const m = await backup(serviceName(o.service, registry), o.data, o.out, Date.now, only);
        const journal = m.shards.reduce((n, s) => n + s.journalBytes, 0);
        out(`backed up ${m.shards.length} ${m.service} shard(s) from ${o.data} into ${o.out} in ${m.tookMs} ms (journals ${journal} bytes; no shard stopped)`);
      }),
    );

  program
    .command('restore')
    .description('put a backup back so that nothing handed out before the loss is handed out again (docs/OPERATIONS.md)')
    .requiredOption('--from <file>', 'the backup file')
    .option('--data <dir>', 'the data directory to restore into (its shard directories must not exist)', './data')
    .option('--service <service>', 'refuse unless the backup is of this service')
    .option('--window-ms <ms>', 'the fleet\'s --window-ms (default: the server\'s)', intIn(1, 3_600_000))
    .option('--max-lead-ms <ms>', 'the fleet\'s --max-lead-ms (default: the server\'s)', intIn(0, 3_600_000))
    .option('--max-clock-skew-ms <ms>', 'the fleet\'s --max-clock-skew-ms (default: the server\'s)', intIn(0, 3_600_000))
    .action(
      run(async (o: { from: string; data: string; service?: string; windowMs?: number; maxLeadMs?: number; maxClockSkewMs?: number }) => {
        const { restore } = await import('./backup.js');
        const r = await restore(o.from, o.data, {
          ...(o.service === undefined ? {} : { service: serviceName(o.service, registry) }),
          ...(o.windowMs === undefined ? {} : { windowMs: o.windowMs }),
          ...(o.maxLeadMs === undefined ? {} : { maxLeadMs: o.maxLeadMs }),
          ...(o.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: o.maxClockSkewMs }),
        });
        out(
          `restored ${r.shards} ${r.manifest.service} shard(s) into ${o.data} from a backup of ${new Date(r.manifest.backupAt).toISOString()}. ` +
            `Every ID the lost process could have issued lies before ${new Date(r.issuedBeforeMs).toISOString()}: the shards resume above it. ` +
            (r.manifest.service === 'txcoord' ? 'Transactions of the lost process not decided in the backup answer IN_DOUBT. ' : '') +
            (r.manifest.service === 'session-mgr' ? 'Every session epoch handed out before the restore is fenced: producers reopen. ' : '') +
            'Start the processes now.',
        );
      }),
    );

  const shard = program.command('shard').description('shard lifecycle on live processes');
  withAuth(
    shard
      .command('move')
      .description('move shards between two live processes of one service sharing a data dir, online (docs/OPERATIONS.md "Moving shards")')
      .requiredOption('--service <service>', names.join(', '))
      .requiredOption('--shards <ranges>', 'the shards to move, e.g. 17,40-63')
      .requiredOption('--from <url>', 'the endpoint hosting them now (ws://host:port)')
      .requiredOption('--to <url>', 'the endpoint to host them (ws://host:port), same service and data dir')
      .option('--fleet <file>', 'rewrite this fleet file\'s shard ranges of the two endpoints afterwards')
      .option('--drain-ms <ms>', 'how long the source waits for requests in flight on the shards before giving up (nothing moves then)', intIn(1, 60_000))
      .option('--timeout <ms>', 'how long each step may take', positiveMs),
  ).action(
    run(async (o: { service: string; shards: string; from: string; to: string; fleet?: string; drainMs?: number; timeout?: number; tokenFile?: string; caFile?: string }) => {
      const { moveShards } = await import('./shard-move.js');
      const r = await moveShards({ ...o, service: serviceName(o.service, registry) });
      out(
        `moved ${o.service} shard(s) ${o.shards} from ${o.from} to ${o.to}: unavailable ${r.unavailableMs} ms (release ${r.releaseMs} ms, claim ${r.claimMs} ms), forwarded in ${r.forwardMs} ms` +
          (r.fleetRewritten ? `; ${o.fleet} rewritten` : ''),
      );
    }),
  );

  for (const [step, what] of [
    ['release', 'step 1 of a move across hosts: drain and close shards on the process, carrying their time bound, and release them (they answer SHARD_UNAVAILABLE until forwarded or claimed back)'],
    ['claim', 'step 2: open shards whose directories are in the process\'s data dir (copied there, or released by another process of it) and serve them; on the releasing process: take them back'],
    ['forward', 'step 3: the releasing process stops listing the shards and answers NOT_OWNER naming --to'],
  ] as const) {
    const c = withAuth(
      shard
        .command(step)
        .description(what)
        .requiredOption('--endpoint <url>', 'the process (ws://host:port)')
        .requiredOption('--shards <ranges>', 'e.g. 17,40-63')
        .option('--timeout <ms>', 'how long the step may take', positiveMs),
    );
    if (step === 'release') c.option('--drain-ms <ms>', 'how long to wait for requests in flight on the shards', intIn(1, 60_000));
    if (step === 'forward') c.requiredOption('--to <url>', 'the endpoint that hosts the shards now');
    c.action(
      run(async (o: { endpoint: string; shards: string; to?: string; drainMs?: number; timeout?: number; tokenFile?: string; caFile?: string }) => {
        const { moveStep } = await import('./shard-move.js');
        out(JSON.stringify(await moveStep(step, o)));
      }),
    );
  }

  addClientCommands(program, registry);

  program
    .command('chaos')
    .description('cross-shard crash test: a multi-process fleet, client workers, random SIGKILLs, then every check')
    .option('--minutes <m>', 'how long to inject crashes (fractions allowed); a soak: all 1024 shards, 3 processes per service, 4 workers', parseFloat)
    .option('--seconds <s>', 'how long to inject crashes (default: 30; more than 120 is a soak)', parseFloat)
    .option('--workers <n>', 'client worker processes (default: 3, a soak 4)', intIn(1, 64))
    .option('--procs <n>', 'server processes per service (default: 2, a soak 3)', intIn(1, 64))
    .option('--seed <n>', 'random seed (default: from the clock, printed)', intIn(0, Number.MAX_SAFE_INTEGER))
    .option('--dir <dir>', 'working directory (default: a fresh temp dir)')
    .option('--keep', 'keep the working directory afterwards')
    .option('--no-moves', 'no online shard moves between processes (on by default)')
    .option('--no-restores', 'no backups put back in place of a killed process (on by default)')
    .action(
      run(async (o: Record<string, unknown>) => {
        const { runChaosCommand } = await import('./chaos/command.js');
        return runChaosCommand(o);
      }),
    );
  return program;
}

/** `--token-file` and `--ca-file`, for every command that talks to servers. */
function withAuth(c: Command): Command {
  return c
    .option('--token-file <file>', 'bearer token file (default: $PHARAOH_TOKEN)')
    .option('--ca-file <file>', 'PEM CA bundle for wss:// and https:// endpoints (default: $PHARAOH_CA_FILE, else the system CAs)');
}

function addFleetCommands(program: Command, registry: Registry): void {
  const fleet = program.command('fleet').description('run and inspect a local fleet (fleet file or the default fleet)');
  fleet
    .command('up')
    .description(`start every process of the fleet (default: ${registry.names.join(', ')}; all 1024 shards; data in ./data)`)
    .argument('[fleet.json]', 'fleet file (see docs/FLEET.md)')
    .option('--restart-on-crash', 'restart a process that exits unexpectedly (with its shards as the fleet file lists them then)')
    .option('--detach', 'run in the background; stop with `pharaoh fleet down`')
    .option('--log-level <level>', "log level of every process (pino: fatal, error, warn, info, debug; default: the server's, info)")
    .option('--start-timeout <ms>', 'how long each process may take to become ready', positiveMs, DEFAULT_START_TIMEOUT_MS)
    .option('--stop-grace <ms>', 'how long a process may take to stop after SIGTERM before SIGKILL', graceMs, DEFAULT_STOP_GRACE_MS)
    .action(
      run(async (file: string | undefined, o: Record<string, unknown>) => {
        const { fleetUp } = await import('./fleet/up.js');
        return fleetUp({
          ...(file === undefined ? {} : { file }),
          restartOnCrash: o.restartOnCrash === true,
          detach: o.detach === true,
          ...(typeof o.logLevel === 'string' ? { logLevel: o.logLevel } : {}),
          ...(typeof o.startTimeout === 'number' ? { startTimeoutMs: o.startTimeout } : {}),
          ...(typeof o.stopGrace === 'number' ? { stopGraceMs: o.stopGrace } : {}),
        });
      }),
    );
  fleet
    .command('down')
    .description('stop a fleet started by `pharaoh fleet up` (by the pids in <data>/fleet.pid.json)')
    .argument('[fleet.json]', 'fleet file')
    .option('--grace <ms>', 'how long each process may take to stop after SIGTERM before SIGKILL', graceMs, DEFAULT_STOP_GRACE_MS)
    .action(
      run(async (file: string | undefined, o: { grace: number }) => {
        const { fleetDown } = await import('./fleet/down.js');
        await fleetDown(file, { graceMs: o.grace });
      }),
    );
  addFleetStatus(fleet);
  addFleetK8s(fleet, registry);
}

function addFleetStatus(fleet: Command): void {
  withAuth(
    fleet
      .command('status')
      .description("show every process's shards, health, readiness, WebSocket hello and pid; exit 1 unless all are ready and say hello as the fleet file expects")
      .argument('[fleet.json]', 'fleet file'),
  )
    .option('--timeout <ms>', 'how long each probe may take', positiveMs, 2_000)
    .option('--json', 'print JSON')
    .action(
      run(async (file: string | undefined, o: { json?: boolean; timeout: number; tokenFile?: string; caFile?: string }) => {
        const { fleetStatus, formatStatus } = await import('./fleet/status.js');
        const st = await fleetStatus(file, o);
        out(o.json ? JSON.stringify(st, null, 2) : `${st.source}\n${formatStatus(st.rows)}`);
        return st.allReady ? 0 : 1;
      }),
    );
}

function addFleetK8s(fleet: Command, registry: Registry): void {
  const k8s = fleet
    .command('k8s')
    .description('print the fleet file for the StatefulSets in deploy/k8s (pod DNS names, ordinal → shards)')
    .option('--namespace <ns>', 'Kubernetes namespace', 'pharaoh')
    .option('--domain <domain>', 'cluster domain', 'cluster.local');
  for (const s of registry.services) k8s.option(`--${s.name} <n>`, `SHARDS_PER_POD of ${s.name}`, intIn(1, 1024), s.shardsPerPod);
  k8s
    .option('--tls', 'the pods serve TLS (--tls-cert): wss:// endpoints and https:// health URLs')
    .option('--http-plain', 'with --tls, the pods keep their HTTP port in plain http:// (--http-plain)')
    .option('--manifests <dir>', "instead, write the registry's manifests (one StatefulSet file per service, PDBs, kustomization) into <dir>, e.g. deploy/k8s")
    .action(
      run(async (o: Record<string, unknown> & { namespace: string; domain: string; tls?: boolean; httpPlain?: boolean; manifests?: string }) => {
        if (o.manifests !== undefined) {
          const { writeFileSync } = await import('node:fs');
          const { join } = await import('node:path');
          const { k8sManifests } = await import('./k8s-manifests.js');
          for (const [name, text] of k8sManifests(registry)) {
            writeFileSync(join(o.manifests, name), text);
            out(`wrote ${join(o.manifests, name)}`);
          }
          return;
        }
        const { k8sFleetFile } = await import('./k8s-fleet.js');
        const perPod: Record<string, number> = {};
        for (const s of registry.services) perPod[s.name] = o[new Option(`--${s.name}`).attributeName()] as number;
        const file = k8sFleetFile({ namespace: o.namespace, domain: o.domain, shardsPerPod: perPod, registry, tls: o.tls === true, httpPlain: o.httpPlain === true });
        out(JSON.stringify(file, null, 2));
      }),
    );
}

function addClientCommands(program: Command, registry: Registry): void {
  const target = (c: Command) =>
    withAuth(
      c
        .option('--fleet <file>', 'fleet file (default: the default fleet on 127.0.0.1)')
        .option('--endpoint <url...>', 'endpoint URL(s) instead of a fleet file (ws://host:port, or wss:// with TLS)')
        .addOption(new Option('--timeout <ms>', 'how long to wait for the connection, and then for the answer').argParser(positiveMs).default(DEFAULT_TIMEOUT_MS)),
    );
  const client = () => import('./client-commands.js');
  target(program.command('call').description(`call any op of any service: pharaoh call <${registry.names.join('|')}> <op> [field=value ...] (pharaoh services lists the ops)`))
    .argument('<service>', registry.names.join(', '))
    .argument('<op>', 'an op of the service, e.g. tx.status')
    .argument('[fields...]', 'field=value (IDs in decimal); shard is chosen by the client')
    .option('--key <key>', 'route a fresh-ID op by key (hash(key) % 1024) instead of the policy')
    .action(run(async (service: string, op: string, fields: string[], o) => (await import('./call-command.js')).callCommand(registry, service, op, fields, o)));
  target(program.command('ts').description('get fresh timestamps from the TSO'))
    .option('--count <n>', 'how many timestamps', intIn(1, TS_MAX_COUNT), 1)
    .option('--key <key>', "route by key (hash(key) % 1024) instead of the client's default shard")
    .action(run(async (o) => (await client()).tsCommand(o)));
  const tx = program.command('tx').description('transactions: begin, commit, abort, status');
  target(tx.command('begin').description('begin a transaction'))
    .option('--tx-timeout <ms>', "abort the transaction if it is not committed or heartbeaten within this time (default: the coordinator's, 10000 unless it runs with --default-timeout-ms)", intIn(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS))
    .action(run(async (o) => (await client()).txCommand('begin', undefined, o)));
  const verbs = {
    commit: 'commit a transaction (again: the same commitTs)',
    abort: 'abort a transaction',
    status: "show a transaction's state: ACTIVE, COMMITTED, ABORTED or UNKNOWN",
  } as const;
  for (const [verb, what] of Object.entries(verbs) as Array<[keyof typeof verbs, string]>) {
    target(tx.command(verb).description(what).argument('<txId>', 'the TxId, decimal or hex (0x…)')).action(
      run(async (id: string, o) => (await client()).txCommand(verb, id, o)),
    );
  }
  const schema = program.command('schema').description('schema ids (schema-registry): register, get, latest');
  target(schema.command('register').description('register a schema under a subject (the same schema again: the same schemaId and version)'))
    .requiredOption('--subject <name>', 'the subject, e.g. orders-value')
    .requiredOption('--format <format>', 'AVRO, PROTOBUF or JSON')
    .option('--schema <text>', 'the schema text')
    .option('--file <path>', 'read the schema text from a file')
    .action(run(async (o) => (await client()).schemaRegisterCommand(o)));
  target(schema.command('get').description('show the schema with this id').argument('<schemaId>', 'decimal or hex (0x…)')).action(
    run(async (id: string, o) => (await client()).schemaShowCommand('get', id, o)),
  );
  target(schema.command('latest').description("show a subject's newest version").argument('<subject>', 'the subject')).action(
    run(async (subject: string, o) => (await client()).schemaShowCommand('latest', subject, o)),
  );
  target(program.command('offsets').description('dense partition offsets (sequencer)').command('assign').description('take the next offsets of a partition (dense: 0, 1, 2, … never twice)'))
    .argument('<partition>', 'the partition name, e.g. orders-0')
    .option('--count <n>', 'how many offsets', intIn(1, TS_MAX_COUNT), 1)
    .action(run(async (partition: string, o) => (await client()).offsetsAssignCommand(partition, o)));
  target(program.command('cdc').description('CDC event ids (sequencer)').command('next').description("fresh CDC event ids of a table, increasing per table"))
    .argument('<table>', 'the table name')
    .option('--count <n>', 'how many ids', intIn(1, TS_MAX_COUNT), 1)
    .action(run(async (table: string, o) => (await client()).cdcNextCommand(table, o)));
  target(program.command('group').description('consumer groups (group-coord)').command('offsets').description("a group's committed offsets: topic partition offset per line"))
    .argument('<group>', 'the group id')
    .action(run(async (group: string, o) => (await client()).groupOffsetsCommand(group, o)));
  const session = program.command('session').description('producer sessions: open, validate');
  target(session.command('open').description('open a session (again for the same producer: a higher epoch, fences the old one)'))
    .option('--producer <name>', 'producer name (idempotent producer); omit for an anonymous session')
    .action(run(async (o) => (await client()).sessionOpenCommand(o)));
  target(session.command('validate').description('check a session epoch: OK, FENCED, EXPIRED or UNKNOWN'))
    .argument('<sessionId>', 'the SessionId, decimal or hex (0x…)')
    .argument('<epoch>', 'epoch number')
    .action(run(async (id: string, epoch: string, o) => (await client()).sessionValidateCommand(id, epoch, o)));
}

// Run when executed (bin/pharaoh.cjs or `tsx src/main.ts`), not when imported by a test.
const invokedDirectly = process.argv[1] !== undefined && /(?:main\.ts|pharaoh(?:\.[cm]?js)?)$/.test(process.argv[1]);
if (invokedDirectly) {
  await buildProgram().parseAsync(process.argv);
}
