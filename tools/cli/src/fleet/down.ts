/**
 * `pharaoh fleet down [fleet.json]`: stop a fleet started by `fleet up`, by
 * the pids in its pid file (never by process name): SIGTERM, then SIGKILL
 * after the grace period.
 */
import { CliError, CLI_ERROR_CODES } from '../errors.js';
import { loadFleet } from '../fleet-file.js';
import { memberMarkers } from './child.js';
import { isAlive, isOurProcess, pidFilePath, readPidFile, removePidFile, SUPERVISOR_MARKERS } from './pidfile.js';
import { DEFAULT_STOP_GRACE_MS } from './supervisor.js';

const POLL_MS = 100;

/** Resolves true once `pid` is gone, false if it is still alive after `ms`. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return !isAlive(pid);
}

/** SIGTERM `pid`, wait up to `graceMs`, then SIGKILL. Returns how it ended. */
async function terminate(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  if (await waitGone(pid, graceMs)) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* exited between the check and the kill */
  }
  await waitGone(pid, 5_000);
  return 'killed';
}

/**
 * Stop the supervisor (it stops its children gracefully), then make sure no
 * child outlived it (e.g. the supervisor itself had been SIGKILLed).
 */
export async function fleetDown(file: string | undefined, opts: { graceMs?: number; print?: (t: string) => void } = {}): Promise<void> {
  const print = opts.print ?? ((t: string) => process.stdout.write(t + '\n'));
  const grace = opts.graceMs ?? DEFAULT_STOP_GRACE_MS;
  const fleet = loadFleet(file);
  const pf = readPidFile(fleet.dataDir);
  if (!pf) {
    throw new CliError(CLI_ERROR_CODES.NOT_RUNNING, `no running fleet recorded at ${pidFilePath(fleet.dataDir)} (was it started with \`pharaoh fleet up\` from this directory/fleet file?)`);
  }
  if (isOurProcess(pf.pid, SUPERVISOR_MARKERS)) {
    // The supervisor gives each child the grace period itself; allow for that plus its own exit.
    const how = await terminate(pf.pid, grace + 5_000);
    print(`supervisor pid ${pf.pid} ${how}`);
  }
  const members = new Map(fleet.members.map((m) => [m.label, m]));
  for (const c of pf.children) {
    const m = members.get(c.label);
    if (m && isOurProcess(c.pid, memberMarkers(m.service))) {
      print(`${c.label} pid ${c.pid} ${await terminate(c.pid, grace)}`);
    }
  }
  removePidFile(fleet.dataDir);
  print(`fleet from ${fleet.source} is down`);
}
