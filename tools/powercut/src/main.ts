/**
 * `npm run powercut` — real power cuts on a real file system (root, Linux).
 * Exit status: 0 no violation, 1 violations, 2 the run itself failed or could
 * not start, 130 interrupted.
 */
import { parseArgs } from 'node:util';
import { runFaultTool } from '@pharaoh/testkit';
import type { ServiceName } from '@pharaoh/registry';
import { cleanupActiveSync, DEFAULT_OPTIONS, formatSummary, runPowercut, type PowercutOptions } from './run.js';
import { unavailableReason } from './device.js';
import { SERVICES } from './server.js';

const HELP = `Usage: npm run powercut -- [options]

Real power cuts on ext4 on loop devices: one server per service under load,
SIGSTOP, copy of the block image, SIGKILL, mount of the copy, restart, check
every acknowledged ID, decision, epoch, generation, committed offset, schema
and offset range. Needs root, losetup and mkfs.ext4.

Options:
  --cuts <n>              power cuts in all (default ${DEFAULT_OPTIONS.cuts})
  --seed <n>              seed of the schedule and the load (default: random, printed)
  --services <list>       comma-separated, of ${SERVICES.join(',')} (default: all)
  --shards <n>            shards per server, 0..n-1 (default ${DEFAULT_OPTIONS.shardCount})
  --load-ms <min-max>     load before each cut or kill (default ${DEFAULT_OPTIONS.loadMs.join('-')})
  --serve-ms <min-max>    load after a kill's restart, before the cut, in half of the chains (default ${DEFAULT_OPTIONS.serveAfterKillMs.join('-')})
  --chain-ratio <r>       share of kill-then-cut chains (default ${DEFAULT_OPTIONS.chainRatio})
  --image-mib <n>         size of each sparse image (default ${DEFAULT_OPTIONS.imageMiB})
  --max-minutes <m>       abort (and clean up) after this long (default: 2 + 1 per cut)
  --dir <path>            parent of the temporary directory (default: the OS temp dir)
  -h, --help              this text
`;

function range(name: string, v: string | undefined, fallback: [number, number]): [number, number] {
  if (v === undefined) return fallback;
  const m = /^(\d+)-(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`--${name} wants <min>-<max> in ms, got ${v}`);
  return [Number(m[1]), Number(m[2])];
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} wants an integer >= ${min}, got ${v}`);
  return n;
}

function parse(argv: string[]): Partial<PowercutOptions> | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      cuts: { type: 'string' },
      seed: { type: 'string' },
      services: { type: 'string' },
      shards: { type: 'string' },
      'load-ms': { type: 'string' },
      'serve-ms': { type: 'string' },
      'chain-ratio': { type: 'string' },
      'image-mib': { type: 'string' },
      'max-minutes': { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const o: Partial<PowercutOptions> = {};
  const cuts = int('cuts', values.cuts, 1);
  if (cuts !== undefined) o.cuts = cuts;
  const seed = int('seed', values.seed, 0);
  if (seed !== undefined) o.seed = seed >>> 0;
  if (values.services !== undefined) o.services = values.services.split(',').map((s) => s.trim()).filter((s) => s !== '') as ServiceName[];
  const shards = int('shards', values.shards, 1);
  if (shards !== undefined) o.shardCount = shards;
  o.loadMs = range('load-ms', values['load-ms'], DEFAULT_OPTIONS.loadMs);
  o.serveAfterKillMs = range('serve-ms', values['serve-ms'], DEFAULT_OPTIONS.serveAfterKillMs);
  if (values['chain-ratio'] !== undefined) {
    const r = Number(values['chain-ratio']);
    if (!(r >= 0 && r <= 1)) throw new Error(`--chain-ratio wants a number in [0, 1], got ${values['chain-ratio']}`);
    o.chainRatio = r;
  }
  const mib = int('image-mib', values['image-mib'], 64);
  if (mib !== undefined) o.imageMiB = mib;
  if (values['max-minutes'] !== undefined) {
    const m = Number(values['max-minutes']);
    if (!(m > 0)) throw new Error(`--max-minutes wants a positive number, got ${values['max-minutes']}`);
    o.maxMs = m * 60_000;
  }
  if (values.dir !== undefined) o.tmpDir = values.dir;
  return o;
}

runFaultTool({
  name: 'powercut',
  help: HELP,
  parse,
  unavailableReason,
  stopping: 'stopping the servers and cleaning up',
  cleanupActiveSync,
  run: (opts, signal) => runPowercut({ ...opts, signal }),
  formatSummary,
});
