/**
 * `pharaoh fleet up [fleet.json]`: start a local fleet in the foreground
 * (Ctrl-C stops it) or in the background (`--detach`; `fleet down` stops it).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatShardRanges } from '@pharaoh/protocol';
import { CliError, CLI_ERROR_CODES } from '../errors.js';
import { DEFAULT_FLEET_SOURCE, loadFleet, uncoveredShards } from '../fleet-file.js';
import type { Fleet } from '../fleet-file.js';
import { formatTable } from '../decode.js';
import { PHARAOH_BIN } from '../paths.js';
import { isOurProcess, LOG_FILE_NAME, readPidFile, removePidFile, SUPERVISOR_MARKERS, writePidFile } from './pidfile.js';
import { checkDataDirs, checkPorts } from './preflight.js';
import { DEFAULT_START_TIMEOUT_MS, FleetSupervisor } from './supervisor.js';

export interface FleetUpOptions {
  file?: string;
  restartOnCrash?: boolean;
  detach?: boolean;
  logLevel?: string;
  startTimeoutMs?: number;
  stopGraceMs?: number;
  /** Where messages go (default stdout). */
  print?: (text: string) => void;
}

/** Validate, check ports and data directories, then run the fleet. Resolves with the exit status. */
export async function fleetUp(opts: FleetUpOptions): Promise<number> {
  const print = opts.print ?? ((t: string) => process.stdout.write(t + '\n'));
  const fleet = loadFleet(opts.file);
  const existing = readPidFile(fleet.dataDir);
  if (existing && isOurProcess(existing.pid, SUPERVISOR_MARKERS)) {
    throw new CliError(
      CLI_ERROR_CODES.ALREADY_RUNNING,
      `a fleet is already running from ${fleet.dataDir} (supervisor pid ${existing.pid}, started ${existing.startedAt}).\n` +
        `  See it with \`pharaoh fleet status\`; stop it with \`pharaoh fleet down\`.`,
    );
  }
  checkDataDirs(fleet);
  await checkPorts(fleet);
  for (const [service, missing] of Object.entries(uncoveredShards(fleet))) {
    print(`[fleet] note: no process serves ${service} shards ${formatShardRanges(missing)}`);
  }
  return opts.detach ? detach(fleet, opts, print) : foreground(fleet, opts, print);
}

async function foreground(fleet: Fleet, opts: FleetUpOptions, print: (t: string) => void): Promise<number> {
  const startedAt = new Date().toISOString();
  let sup: FleetSupervisor | undefined;
  const save = () =>
    writePidFile(fleet.dataDir, { pid: process.pid, source: fleet.source, startedAt, ready: sup?.ready ?? false, children: sup?.children() ?? [] });
  sup = new FleetSupervisor(fleet, {
    restartOnCrash: opts.restartOnCrash ?? false,
    startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    ...(opts.stopGraceMs === undefined ? {} : { stopGraceMs: opts.stopGraceMs }),
    childArgs: opts.logLevel ? ['--log-level', opts.logLevel] : [],
    onChange: save,
  });
  const supervisor = sup;
  let stopping = false;
  let finish!: (code: number) => void;
  const done = new Promise<number>((res) => (finish = res));
  const shutdown = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    print(`[fleet] ${why}: stopping ${fleet.members.length} process(es)`);
    void supervisor.stop().then(() => {
      removePidFile(fleet.dataDir);
      print('[fleet] stopped');
      finish(code);
    });
  };
  const onSignal = (sig: NodeJS.Signals) => shutdown(`${sig} received`, 0);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  try {
    save();
    print(`[fleet] starting ${fleet.members.length} process(es) from ${fleet.source}; each opens its shards, then answers /readyz`);
    await supervisor.start();
  } catch (err) {
    removePidFile(fleet.dataDir);
    for (const sig of signals) process.off(sig, onSignal);
    throw err;
  }
  print(banner(fleet, false));
  // Run until a signal stops us, or every process has died and nothing restarts them.
  const watch = setInterval(() => {
    if (supervisor.allExited()) shutdown('every process has exited', 1);
  }, 500);
  const code = await done;
  clearInterval(watch);
  for (const sig of signals) process.off(sig, onSignal);
  return code;
}

/**
 * Start the supervisor as a detached background process logging to
 * `<data>/fleet.log`, and wait until its pid file says the fleet is ready.
 */
async function detach(fleet: Fleet, opts: FleetUpOptions, print: (t: string) => void): Promise<number> {
  const logPath = join(fleet.dataDir, LOG_FILE_NAME);
  const logFd = openSync(logPath, 'a');
  const args = [PHARAOH_BIN, 'fleet', 'up'];
  if (opts.file !== undefined) args.push(resolve(opts.file));
  if (opts.restartOnCrash) args.push('--restart-on-crash');
  if (opts.logLevel) args.push('--log-level', opts.logLevel);
  if (opts.startTimeoutMs !== undefined) args.push('--start-timeout', String(opts.startTimeoutMs));
  if (opts.stopGraceMs !== undefined) args.push('--stop-grace', String(opts.stopGraceMs));
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.unref();
  let exitCode: number | null = null;
  child.once('exit', (code, sig) => (exitCode = code ?? (sig ? 1 : 0)));
  const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) + 10_000;
  while (Date.now() < deadline && exitCode === null) {
    const pf = readPidFile(fleet.dataDir);
    if (pf && pf.pid === child.pid && pf.ready) {
      print(banner(fleet, true) + `\nSupervisor pid ${child.pid}; logs in ${logPath}`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n') : '';
  if (exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  throw new CliError(CLI_ERROR_CODES.START_FAILED, `the background fleet did not become ready; end of ${logPath}:\n${log}`);
}

/** What to print once the fleet is up: where it listens and how to call it. */
export function banner(fleet: Fleet, detached: boolean): string {
  const rows = fleet.members.map((m) => [m.service, m.endpoint, formatShardRanges(m.shards), m.http ?? '-']);
  const f = fleet.source === DEFAULT_FLEET_SOURCE ? '' : ` --fleet ${fleet.source}`;
  const s = fleet.source === DEFAULT_FLEET_SOURCE ? '' : ` ${fleet.source}`;
  return [
    `Pharaoh fleet is up: ${fleet.members.length} process(es) from ${fleet.source}, data in ${fleet.dataDir}`,
    formatTable(['service', 'endpoint', 'shards', 'http'], rows).replace(/^/gm, '  '),
    'Try:',
    `  npx pharaoh ts${f}                       # a fresh timestamp`,
    `  npx pharaoh tx begin${f}                 # begin a transaction (then: tx commit <txId>)`,
    `  npx pharaoh session open --producer demo${f}`,
    `  npx pharaoh fleet status${s}             # health and shards of every process`,
    detached ? `Stop it with: npx pharaoh fleet down${s}` : 'Stop it with Ctrl-C.',
  ].join('\n');
}
