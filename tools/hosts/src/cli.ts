/**
 * `npm run hosts` — the fleet across network namespaces (root, Linux):
 * partitions, host loss and replacement, two owners, a slow network.
 * Exit status: 0 no violation, 1 violations, 2 the run itself failed or could
 * not start, 130 interrupted.
 *
 * Not named main.ts: @pharaoh/cli's index runs its own command line when the
 * entry script's name ends in main.ts, and this tool imports that index.
 */
import { parseArgs } from 'node:util';
import { runFaultTool } from '@pharaoh/testkit';
import { opensslAvailable } from './fleet.js';
import { unavailableReason } from './net.js';
import { cleanupActiveSync, DEFAULT_OPTIONS, formatSummary, runHosts, type HostsOptions } from './run.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';

const HELP = `Usage: npm run hosts -- [options]

Many hosts on one machine: network namespaces on a bridge of their own
(10.77.0.0/24), tso, txcoord and session-mgr across 3 server hosts with TLS
and tokens, client routers on 2 client hosts; then partitions, an asymmetric
partition, host loss and replacement, two owners of one shard range, a slow
network. Needs root and \`ip netns\`.

Options:
  --scenarios <list>     comma-separated, of ${SCENARIOS.join(',')} (default: all, in that order)
  --timeout-ms <ms>      the clients' timeoutMs (default ${DEFAULT_OPTIONS.timeoutMs})
  --connect-timeout-ms <ms>  the clients' connectTimeoutMs (default ${DEFAULT_OPTIONS.connectTimeoutMs})
  --partition-ms <ms>    how long a partition or a lost host lasts (default ${DEFAULT_OPTIONS.partitionMs})
  --slow-phase-ms <ms>   length of each slow-network phase (default ${DEFAULT_OPTIONS.slowPhaseMs})
  --slow-delay-ms <ms>   added one-way delay of the slow network (default ${DEFAULT_OPTIONS.slowDelayMs})
  --max-minutes <m>      abort (and clean up) after this long (default ${DEFAULT_OPTIONS.maxMs / 60_000})
  --dir <path>           parent of the temporary directory (default: the OS temp dir)
  -h, --help             this text
`;

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} wants an integer >= ${min}, got ${v}`);
  return n;
}

function parse(argv: string[]): Partial<HostsOptions> | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      'partition-ms': { type: 'string' },
      'slow-phase-ms': { type: 'string' },
      'slow-delay-ms': { type: 'string' },
      'max-minutes': { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const o: Partial<HostsOptions> = {};
  if (values.scenarios !== undefined) {
    const list = values.scenarios.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const s of list) if (!SCENARIOS.includes(s as ScenarioName)) throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(', ')})`);
    o.scenarios = list as ScenarioName[];
  }
  const set = <K extends keyof HostsOptions>(k: K, v: number | undefined) => {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  };
  set('timeoutMs', int('timeout-ms', values['timeout-ms'], 100));
  set('connectTimeoutMs', int('connect-timeout-ms', values['connect-timeout-ms'], 100));
  set('partitionMs', int('partition-ms', values['partition-ms'], 500));
  set('slowPhaseMs', int('slow-phase-ms', values['slow-phase-ms'], 1_000));
  set('slowDelayMs', int('slow-delay-ms', values['slow-delay-ms'], 0));
  if (values['max-minutes'] !== undefined) {
    const m = Number(values['max-minutes']);
    if (!(m > 0)) throw new Error(`--max-minutes wants a positive number, got ${values['max-minutes']}`);
    o.maxMs = m * 60_000;
  }
  if (values.dir !== undefined) o.dir = values.dir;
  return o;
}

runFaultTool({
  name: 'hosts',
  help: HELP,
  parse,
  unavailableReason: () => unavailableReason() ?? (opensslAvailable() ? undefined : 'openssl is missing (the certificate is made with it)'),
  stopping: 'stopping and removing the hosts',
  cleanupActiveSync,
  // A run that cannot even start (a namespace command refused) is one line, not a stack.
  run: (opts, signal) =>
    runHosts({ ...opts, signal }).catch((err: unknown) => {
      process.stderr.write(`hosts: ${(err as Error).message}\n`);
      process.exit(2);
    }),
  formatSummary,
});
