/**
 * The `pharaoh` command line. Every command's failure is one clear message on
 * stderr and a non-zero exit status; no stack traces for operator mistakes.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { REGISTRY, serviceTable, type Registry } from '@pharaoh/registry';
import { CliError } from './errors.js';
import { decodeAll, formatDecoded, formatTable, layoutsOf, parseId } from './decode.js';
import type { ServiceLoader } from './serve.js';

function intOption(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
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
  const program = new Command('pharaoh')
    .description('Pharaoh: unique, monotonic, crash-safe 64-bit IDs — fleets, operator client, tools')
    .showHelpAfterError();
  const names = registry.names;

  program
    .command('serve')
    .description(`run one shard host: pharaoh serve <${names.join('|')}> --shards 0-1023 --port <port> --http-port <port> --data ./data`)
    .argument('<service>', names.join(', '))
    .argument('[flags...]', 'server flags (see `pharaoh serve <service> --help`)')
    .allowUnknownOption()
    .helpOption(false)
    .action(
      run(async (service: string, flags: string[]) => {
        const { parseService, serve } = await import('./serve.js');
        await serve(parseService(service, registry), flags, load);
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
        if (o.names) return out(registry.names.join('\n'));
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
    .description(`print an ID's fields and date under each layout (${layoutsOf(registry).map((l) => l.name).join(', ')})`)
    .argument('<id>', 'decimal 64-bit ID')
    .option('--json', 'print JSON')
    .action(
      run((id: string, o: { json?: boolean }) => {
        const value = parseId(id);
        out(o.json ? JSON.stringify({ id: value.toString(), layouts: decodeAll(value, registry) }, null, 2) : formatDecoded(value, registry));
      }),
    );

  addClientCommands(program, registry);

  program
    .command('chaos')
    .description('cross-shard crash test: a multi-process fleet, client workers, random SIGKILLs, then every check')
    .option('--minutes <m>', 'how long to inject crashes (fractions allowed)', parseFloat)
    .option('--seconds <s>', 'how long to inject crashes', parseFloat)
    .option('--workers <n>', 'client worker processes', intOption)
    .option('--procs <n>', 'server processes per service', intOption)
    .option('--seed <n>', 'random seed', intOption)
    .option('--dir <dir>', 'working directory (default: a fresh temp dir)')
    .option('--keep', 'keep the working directory afterwards')
    .action(
      run(async (o: Record<string, unknown>) => {
        const { runChaosCommand } = await import('./chaos/command.js');
        return runChaosCommand(o);
      }),
    );
  return program;
}

function addFleetCommands(program: Command, registry: Registry): void {
  const fleet = program.command('fleet').description('run and inspect a local fleet (fleet file or the default fleet)');
  fleet
    .command('up')
    .description(`start every process of the fleet (default: ${registry.names.join(', ')}; all 1024 shards; data in ./data)`)
    .argument('[fleet.json]', 'fleet file (see docs/FLEET.md)')
    .option('--restart-on-crash', 'restart a process that exits unexpectedly')
    .option('--detach', 'run in the background; stop with `pharaoh fleet down`')
    .option('--log-level <level>', 'log level of every process (pino: fatal, error, warn, info, debug)')
    .option('--start-timeout <ms>', 'how long each process may take to become ready', intOption)
    .option('--stop-grace <ms>', 'how long a process may take to stop after SIGTERM before SIGKILL', intOption)
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
    .command('status')
    .description("show every process's shard ranges, health, readiness and pid; exit 1 unless all are ready")
    .argument('[fleet.json]', 'fleet file')
    .option('--json', 'print JSON')
    .action(
      run(async (file: string | undefined, o: { json?: boolean }) => {
        const { fleetStatus, formatStatus } = await import('./fleet/status.js');
        const st = await fleetStatus(file);
        out(o.json ? JSON.stringify(st, null, 2) : `${st.source}\n${formatStatus(st.rows)}`);
        return st.allReady ? 0 : 1;
      }),
    );
  fleet
    .command('down')
    .description('stop a fleet started by `pharaoh fleet up` (by the pids in <data>/fleet.pid.json)')
    .argument('[fleet.json]', 'fleet file')
    .option('--grace <ms>', 'how long each process may take to stop after SIGTERM before SIGKILL', intOption)
    .action(
      run(async (file: string | undefined, o: { grace?: number }) => {
        const { fleetDown } = await import('./fleet/down.js');
        await fleetDown(file, o.grace === undefined ? {} : { graceMs: o.grace });
      }),
    );
  const k8s = fleet
    .command('k8s')
    .description('print the fleet file for the StatefulSets in deploy/k8s (pod DNS names, ordinal → shards)')
    .option('--namespace <ns>', 'Kubernetes namespace', 'pharaoh')
    .option('--domain <domain>', 'cluster domain', 'cluster.local')
    .option('--manifests <dir>', "instead, write the registry's manifests (one StatefulSet file per service, PDBs, kustomization) into <dir>, e.g. deploy/k8s");
  for (const s of registry.services) k8s.option(`--${s.name} <n>`, `SHARDS_PER_POD of ${s.name}`, intOption, s.shardsPerPod);
  k8s.action(
    run(async (o: Record<string, unknown> & { namespace: string; domain: string; manifests?: string }) => {
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
      out(JSON.stringify(k8sFleetFile({ namespace: o.namespace, domain: o.domain, shardsPerPod: perPod, registry }), null, 2));
    }),
  );
}

function addClientCommands(program: Command, registry: Registry): void {
  const target = (c: Command) =>
    c
      .option('--fleet <file>', 'fleet file (default: the default fleet on 127.0.0.1)')
      .option('--endpoint <url...>', 'endpoint URL(s) instead of a fleet file')
      .option('--timeout <ms>', 'request timeout', intOption)
      .option('--token-file <file>', 'bearer token file (default: $PHARAOH_TOKEN)')
      .option('--ca-file <file>', 'PEM CA bundle for wss:// endpoints (default: $PHARAOH_CA_FILE)');
  const client = () => import('./client-commands.js');
  target(program.command('call').description(`call any op of any service: pharaoh call <${registry.names.join('|')}> <op> [field=value ...] (pharaoh services lists the ops)`))
    .argument('<service>', registry.names.join(', '))
    .argument('<op>', 'an op of the service, e.g. tx.status')
    .argument('[fields...]', 'field=value (IDs in decimal); shard is chosen by the client')
    .option('--key <key>', 'route a fresh-ID op by key (hash(key) % 1024) instead of the policy')
    .action(run(async (service: string, op: string, fields: string[], o) => (await import('./call-command.js')).callCommand(registry, service, op, fields, o)));
  target(program.command('ts').description('get fresh timestamps from the TSO'))
    .option('--count <n>', 'how many timestamps', intOption, 1)
    .option('--key <key>', 'route by key (hash(key) % 1024) instead of round-robin')
    .action(run(async (o) => (await client()).tsCommand(o)));
  const tx = program.command('tx').description('transactions: begin, commit, abort, status');
  target(tx.command('begin').description('begin a transaction'))
    .option('--tx-timeout <ms>', "abort the transaction if it is not committed or heartbeaten within this time (default: the coordinator's)", intOption)
    .action(run(async (o) => (await client()).txCommand('begin', undefined, o)));
  for (const verb of ['commit', 'abort', 'status'] as const) {
    target(tx.command(verb).description(`${verb} a transaction`).argument('<txId>', 'decimal TxId')).action(
      run(async (id: string, o) => (await client()).txCommand(verb, id, o)),
    );
  }
  const session = program.command('session').description('producer sessions: open, validate');
  target(session.command('open').description('open a session (again for the same producer: epoch + 1, fences the old one)'))
    .option('--producer <name>', 'producer name (idempotent producer); omit for an anonymous session')
    .action(run(async (o) => (await client()).sessionOpenCommand(o)));
  target(session.command('validate').description('check a session epoch: OK, FENCED, EXPIRED or UNKNOWN'))
    .argument('<sessionId>', 'decimal SessionId')
    .argument('<epoch>', 'epoch number')
    .action(run(async (id: string, epoch: string, o) => (await client()).sessionValidateCommand(id, epoch, o)));
}

// Run when executed (bin/pharaoh.cjs or `tsx src/main.ts`), not when imported by a test.
const invokedDirectly = process.argv[1] !== undefined && /(?:main\.ts|pharaoh(?:\.[cm]?js)?)$/.test(process.argv[1]);
if (invokedDirectly) {
  await buildProgram().parseAsync(process.argv);
}
