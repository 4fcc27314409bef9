/**
 * The scenarios. Each one changes the network or the hosts, lets the clients
 * keep calling through it, and then reads what the clients received in that
 * window: what callers felt (failover time, errors by code, recovery time)
 * and the scenario's own expectations, reported as violations when they fail.
 * The checks that hold for every call (no duplicate, no regression, no hang)
 * are made over the whole run in check.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_HOSTS, type Bed, type Worker } from './bed.js';
import type { Violation } from './check.js';
import type { WorkerEvent } from './events.js';
import { PORTS, SERVER_HOSTS, fleetFile } from './fleet.js';
import { callsOf, endedIn, errorCodes, firstSuccessAfter, fmtCodes, keylessHome, longestGap, ms, now, ordinalOfShard, percentile } from './measure.js';

export const SCENARIOS = ['partition', 'asymmetric', 'host-loss', 'two-owners', 'slow'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  /** How long a partition (or a lost host's absence before its replacement starts) lasts. */
  partitionMs: number;
  /** Longest wait for the clients to recover after a heal or a replacement. */
  recoverMs: number;
  /** Length of each slow-network phase. */
  slowPhaseMs: number;
  /** Added one-way delay in the slow network's first and last phase. */
  slowDelayMs: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface ScenarioResult {
  name: ScenarioName;
  /** Measured lines for the summary and the docs, e.g. `c0 keyless: longest gap 2,104 ms, errors none`. */
  lines: string[];
  violations: Violation[];
  ms: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(signal!.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Sleep `total` ms, printing each client's running counts every second (the progress display). */
async function progress(bed: Bed, o: ScenarioOptions, label: string, total: number): Promise<void> {
  const start = now();
  for (let i = 0; i < 600 && now() - start < total; i++) {
    await sleep(Math.min(1_000, Math.max(0, total - (now() - start))), o.signal);
    const since = now() - 1_000;
    const parts = [...bed.workers.values()].map((w) => {
      const recent = endedIn(callsOf(w.events), since, now());
      const ok = recent.filter((c) => c.ok).length;
      return `${w.name} ${ok} ok/s${recent.length > ok ? ` ${recent.length - ok} err` : ''}`;
    });
    o.log(`  … ${label} ${((now() - start) / 1000).toFixed(1)}/${(total / 1000).toFixed(1)} s  ${parts.join('  ')}`);
  }
}

/** Wait until `done()` or `ms` passed (checking every 100 ms). */
async function until(done: () => boolean, ms: number, signal?: AbortSignal): Promise<boolean> {
  const end = now() + ms;
  while (now() < end) {
    if (done()) return true;
    await sleep(100, signal);
  }
  return done();
}

function worker(bed: Bed, name: string): Worker {
  const w = bed.workers.get(name);
  if (w === undefined) throw new Error(`no client ${name}`);
  return w;
}

const keyLoop = (ord: number) => `key${ord}`;

/**
 * Partition: the server host that c0's keyless calls use is cut from both
 * client hosts (its processes keep running, the other servers still reach it)
 * for `partitionMs`, then healed. Keyless calls must fail over to another host
 * before the heal; keyed calls to the cut host's shards must fail with a typed
 * error (the run-wide `hang` check bounds their time) and succeed again after the heal.
 */
export async function partition(bed: Bed, o: ScenarioOptions): Promise<ScenarioResult> {
  const start = now();
  const violations: Violation[] = [];
  const lines: string[] = [];
  const home = keylessHome(worker(bed, 'c0').events) ?? 0;
  const target = bed.serverHost(home);
  const clients = CLIENT_HOSTS.map((c) => bed.net.host(c));
  o.log(`partition: cutting server host ${target.name} (${target.ip}, c0's keyless home, shards of ordinal ${home}) from both client hosts for ${o.partitionMs} ms`);
  // The window starts once every route is in place and ends before the first is removed:
  // an `ip` command can take a while on a loaded machine, and calls keep flowing meanwhile.
  for (const c of clients) bed.net.partition(target, c, true);
  const tCut = now();
  await progress(bed, o, 'partitioned', o.partitionMs);
  const tHeal = now();
  for (const c of clients) bed.net.partition(target, c, false);
  o.log(`partition: healed after ${ms(tHeal - tCut)}`);
  const recovered = await until(() => CLIENT_HOSTS.every((c) => firstSuccessAfter(callsOf(worker(bed, c).events, keyLoop(home)), tHeal) !== undefined), o.recoverMs, o.signal);
  await sleep(500, o.signal);
  for (const name of CLIENT_HOSTS) {
    const ev = worker(bed, name).events;
    lines.push(...windowReport(name, ev, home, tCut, tHeal));
    const keyed = callsOf(ev, keyLoop(home));
    const leak = keyed.find((c) => c.ok && c.t0 > tCut + 50 && c.t1 < tHeal - 50);
    if (leak) violations.push({ kind: 'partition-leak', client: name, detail: `a keyed call to the cut host succeeded during the partition: the cut did not hold (${leak.id})` });
    const during = endedIn(keyed, tCut, tHeal);
    if (!during.some((c) => !c.ok)) violations.push({ kind: 'no-error', client: name, detail: `no keyed call to the cut host ended with an error during ${ms(tHeal - tCut)}: the caller was left waiting` });
    const free = callsOf(ev, 'free');
    const elsewhere = free.find((c) => c.ok && c.t0 > tCut && c.t1 < tHeal && ordinalOfShard(Number(c.shard)) !== home);
    if (name === 'c0' && elsewhere === undefined) violations.push({ kind: 'no-failover', client: name, detail: `keyless calls did not move off the cut host during ${ms(tHeal - tCut)}` });
  }
  if (!recovered) violations.push({ kind: 'no-recovery', client: '*', detail: `keyed calls to host ${target.name} did not succeed within ${ms(o.recoverMs)} of the heal` });
  return { name: 'partition', lines, violations, ms: now() - start };
}

/** Per-loop lines for one client over a fault window [tCut, tHeal]: gap, errors, recovery after the heal. */
function windowReport(name: string, ev: readonly WorkerEvent[], cutOrdinal: number | undefined, tCut: number, tHeal: number): string[] {
  const out: string[] = [];
  const free = callsOf(ev, 'free');
  const windowEnd = tHeal + 1;
  out.push(`${name} keyless tso: longest gap ${ms(longestGap(free, tCut, windowEnd))}, errors ${fmtCodes(errorCodes(endedIn(free, tCut, windowEnd + 5_000)))}`);
  for (let ord = 0; ord < SERVER_HOSTS; ord++) {
    const k = callsOf(ev, keyLoop(ord));
    const errs = endedIn(k, tCut, windowEnd + 10_000).filter((c) => !c.ok);
    const first = firstSuccessAfter(k, tHeal);
    const cut = cutOrdinal === undefined || ord === cutOrdinal;
    const errLat = errs.map((c) => c.t1 - c.t0);
    out.push(
      `${name} keyed tso → ordinal ${ord}${cut ? ' (cut)' : ''}: errors ${fmtCodes(errorCodes(errs))}` +
        (errs.length > 0 ? ` (each after ≤ ${ms(Math.max(...errLat))})` : '') +
        (cut ? `, first success ${first ? ms(first.t1 - tHeal) : 'never'} after the heal` : ''),
    );
  }
  const tx = callsOf(ev, 'tx');
  out.push(`${name} tx begin+commit: longest gap ${ms(longestGap(tx, tCut, windowEnd))}, errors ${fmtCodes(errorCodes(endedIn(tx, tCut, windowEnd + 5_000)))}`);
  return out;
}

/**
 * Asymmetric partition: client host c1 is cut from every server host, c0 is
 * not. c0 must not notice anything (no error); c1's callers get typed errors
 * and everything succeeds again after the heal.
 */
export async function asymmetric(bed: Bed, o: ScenarioOptions): Promise<ScenarioResult> {
  const start = now();
  const violations: Violation[] = [];
  const lines: string[] = [];
  const c1 = bed.net.host('c1');
  const servers = [...new Set(bed.pods.map((p) => p.host))];
  o.log(`asymmetric: cutting client host c1 from all ${servers.length} server hosts for ${o.partitionMs} ms; c0 keeps its links`);
  for (const s of servers) bed.net.partition(s, c1, true);
  const tCut = now();
  await progress(bed, o, 'c1 cut off', o.partitionMs);
  const tHeal = now();
  for (const s of servers) bed.net.partition(s, c1, false);
  const loops = ['free', 'tx', ...bed.keys.map((_, i) => keyLoop(i))];
  const recovered = await until(() => loops.every((l) => firstSuccessAfter(callsOf(worker(bed, 'c1').events, l), tHeal) !== undefined), o.recoverMs, o.signal);
  await sleep(500, o.signal);
  const c0calls = endedIn(callsOf(worker(bed, 'c0').events), tCut, now());
  const c0errs = c0calls.filter((c) => !c.ok);
  lines.push(`c0 (not cut): ${c0calls.length} calls, errors ${fmtCodes(errorCodes(c0errs))}`);
  if (c0errs.length > 0) violations.push({ kind: 'bystander', client: 'c0', detail: `${c0errs.length} errors on the client host that was not cut: ${fmtCodes(errorCodes(c0errs))}` });
  const ev = worker(bed, 'c1').events;
  const c1errs = endedIn(callsOf(ev), tCut, now()).filter((c) => !c.ok);
  lines.push(`c1 (cut): errors ${fmtCodes(errorCodes(c1errs))}, each after ≤ ${ms(Math.max(0, ...c1errs.map((c) => c.t1 - c.t0)))}`);
  const rec = loops.map((l) => {
    const f = firstSuccessAfter(callsOf(ev, l), tHeal);
    return `${l} ${f ? ms(f.t1 - tHeal) : 'never'}`;
  });
  lines.push(`c1 first success after the heal: ${rec.join(', ')}`);
  if (c1errs.length === 0) violations.push({ kind: 'no-error', client: 'c1', detail: 'the cut-off client saw no error: the cut did not hold, or callers were left waiting' });
  if (!recovered) violations.push({ kind: 'no-recovery', client: 'c1', detail: `not every loop succeeded within ${ms(o.recoverMs)} of the heal: ${rec.join(', ')}` });
  return { name: 'asymmetric', lines, violations, ms: now() - start };
}

/**
 * Host loss and replacement: server host s1 drops off the network and its
 * three processes are killed; after `partitionMs` (the time to reschedule) the
 * same volumes start on the spare host at another address, and the pod names
 * are pointed there (what the headless Service's DNS does). Clients must find
 * the pods again by name and get IDs above everything before.
 */
export async function hostLoss(bed: Bed, o: ScenarioOptions): Promise<ScenarioResult> {
  const start = now();
  const violations: Violation[] = [];
  const lines: string[] = [];
  const ord = 1;
  const lost = bed.serverHost(ord);
  const pods = bed.pods.filter((p) => p.ordinal === ord);
  o.log(`host-loss: server host ${lost.name} (${lost.ip}) goes off the network and its ${pods.length} processes are SIGKILLed`);
  bed.net.setLink(lost, false);
  const tKill = now();
  await Promise.all(pods.map((p) => bed.killPod(p)));
  await progress(bed, o, 'host lost', o.partitionMs);
  const spare = bed.spare;
  o.log(`host-loss: rescheduling ${pods.map((p) => `${p.service}-${p.ordinal}`).join(', ')} with their volumes on ${spare.name} (${spare.ip})`);
  const tStart = now();
  await Promise.all(pods.map((p) => bed.startPod(p, spare)));
  const tUp = now();
  bed.publishNames();
  o.log(`host-loss: replacements listening ${ms(tUp - tStart)} after their start; names now point at ${spare.ip}`);
  const recovered = await until(() => CLIENT_HOSTS.every((c) => ['tx', keyLoop(ord)].every((l) => firstSuccessAfter(callsOf(worker(bed, c).events, l), tUp) !== undefined)), o.recoverMs, o.signal);
  await sleep(500, o.signal);
  lines.push(`replacement: ${pods.length} processes started ${ms(tStart - tKill)} after the loss, listening after ${ms(tUp - tStart)}`);
  for (const name of CLIENT_HOSTS) {
    const ev = worker(bed, name).events;
    lines.push(...windowReport(name, ev, ord, tKill, tUp).map((l) => l.replace('after the heal', 'after the replacement listened')));
    const k = callsOf(ev, keyLoop(ord));
    const back = firstSuccessAfter(k, tUp);
    lines.push(`${name} keyed tso → ordinal ${ord}: no success for ${back ? ms(longestGap(k, tKill, back.t1)) : 'the rest of the run'} around the loss`);
  }
  if (!recovered) violations.push({ kind: 'no-rediscovery', client: '*', detail: `the clients did not reach the replaced pods within ${ms(o.recoverMs)}` });
  bed.net.setLink(lost, true); // an empty host again: the two-owners scenario puts a copy there
  return { name: 'host-loss', lines, violations, ms: now() - start };
}

/**
 * Two owners: copies of ordinal 2's volumes are started on another host (the
 * failure the StatefulSet and ReadWriteOncePod volumes exist to prevent; the
 * shard lock cannot see across hosts). A client given a fleet that names both
 * must refuse it: from the file's claims, and — with the copy listed without
 * shards — from the hellos of both live processes. A control probe with the
 * ordinary fleet must connect, so a refusal means something.
 */
export async function twoOwners(bed: Bed, o: ScenarioOptions): Promise<ScenarioResult> {
  const start = now();
  const violations: Violation[] = [];
  const lines: string[] = [];
  const ord = 2;
  const host = bed.serverHost(1);
  const pods = bed.pods.filter((p) => p.ordinal === ord);
  o.log(`two-owners: copying the volumes of ${pods.map((p) => `${p.service}-${p.ordinal}`).join(', ')} (while they serve) and starting the copies on ${host.name} (${host.ip})`);
  const started = await Promise.allSettled(pods.map(async (p) => ({ pod: p, ...(await bed.startCopy(p, host)) })));
  const copies = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  for (const s of started) if (s.status === 'rejected') lines.push(`a copy did not start: ${(s.reason as Error).message.split('\n')[0]}`);
  lines.push(`${copies.length}/${pods.length} copies started on another host: the shard lock does not reach across hosts, only the orchestrator keeps them apart`);
  for (const c of copies) bed.setExtraName(c.dns, host.ip);
  bed.publishNames();
  const base = fleetFile();
  const withShards = structuredClone(base);
  const withoutShards = structuredClone(base);
  for (const c of copies) {
    const port = PORTS[c.pod.service];
    const claimed = (base.services[c.pod.service] ?? [])[ord]!;
    withShards.services[c.pod.service]!.push({ endpoint: `wss://${c.dns}:${port}`, shards: claimed.shards });
    withoutShards.services[c.pod.service]!.push({ endpoint: `wss://${c.dns}:${port}` });
  }
  const files = {
    control: bed.fleetPath,
    'file-claims': join(bed.dir, 'fleet-two-owners.json'),
    'hello-claims': join(bed.dir, 'fleet-two-owners-by-hello.json'),
  };
  writeFileSync(files['file-claims'], JSON.stringify(withShards));
  writeFileSync(files['hello-claims'], JSON.stringify(withoutShards));
  const tProbe = now();
  for (const name of CLIENT_HOSTS) {
    const w = worker(bed, name);
    for (const [kind, path] of Object.entries(files)) {
      const before = w.events.length;
      w.send(`probe ${path}`);
      const isProbe = (e: WorkerEvent): e is Extract<WorkerEvent, { e: 'probe' }> => e.e === 'probe' && w.events.indexOf(e) >= before;
      try {
        const r = await w.waitFor(isProbe, o.connectTimeoutMs * 2 + 10_000, `probe ${kind}`);
        lines.push(`${name} connect with the ${kind} fleet: ${r.refused ? `refused, ${r.code}` : 'connected'} in ${ms(r.t1 - r.t0)}${r.refused ? `: ${r.msg.slice(0, 160)}` : ''}`);
        const want = kind === 'control' ? !r.refused : r.refused && r.code === 'FLEET_CONFLICT';
        if (!want) violations.push({ kind: 'double-claim', client: name, detail: `${kind} fleet: ${r.refused ? `refused with ${r.code}` : 'accepted'} (${r.msg})` });
      } catch (err) {
        violations.push({ kind: 'double-claim', client: name, detail: `${kind} probe: ${(err as Error).message.split('\n')[0]}` });
      }
    }
  }
  const live = CLIENT_HOSTS.map((n) => endedIn(callsOf(worker(bed, n).events), tProbe, now()).filter((c) => !c.ok).length);
  lines.push(`running clients (fleet without the copies) during the probes: errors ${live.join(' / ')}`);
  for (const c of copies) {
    await bed.killPod({ ...c.pod, proc: c.proc });
    bed.setExtraName(c.dns, undefined);
  }
  bed.publishNames();
  return { name: 'two-owners', lines, violations, ms: now() - start };
}

/**
 * Slow network: client host c1's traffic goes through a relay that delays
 * every chunk (no `tc netem` here). A fresh client on c1 runs through three
 * phases: `slowDelayMs` each way (calls must still succeed: errors are
 * violations), then a delay past the client's deadline (calls fail with
 * TIMEOUT, each within its budget; reconnects stay bounded: no retry storm),
 * then `slowDelayMs` again (recovery). c0 keeps its direct links throughout.
 */
export async function slow(bed: Bed, o: ScenarioOptions): Promise<ScenarioResult> {
  const start = now();
  const violations: Violation[] = [];
  const lines: string[] = [];
  const c1 = bed.net.host('c1');
  const old = bed.workers.get('c1');
  if (old) await bed.stopWorker(old, 60_000);
  // The relay listens on 127.0.1.<host octet>: one loopback address per server host.
  const routes: Array<{ listen: string; target: string }> = [];
  const names = new Map<string, string>();
  for (const p of bed.pods) {
    const local = `127.0.1.${p.host.ip.split('.')[3]}`;
    names.set(p.dns, local);
    routes.push({ listen: `${local}:${PORTS[p.service]}`, target: `${p.host.ip}:${PORTS[p.service]}` });
  }
  const relay = await bed.startRelay(c1, routes, o.slowDelayMs);
  bed.publishNames(new Map([['c1', names]]));
  o.log(`slow: c1 reaches the ${routes.length} endpoints through a relay adding ${o.slowDelayMs} ms each way; a fresh client starts there`);
  const w = await bed.startWorker(c1, 'c1-slow');
  const conns = (from: number, to: number) => relay.events.filter((e) => (e as { e: string }).e === 'conn' && (e as unknown as { t: number }).t >= from && (e as unknown as { t: number }).t <= to).length;
  const tA = now();
  await progress(bed, o, `+${o.slowDelayMs} ms each way`, o.slowPhaseMs);
  const stall = o.timeoutMs;
  relay.send(`delay ${stall}`);
  const tB = now();
  o.log(`slow: delay now ${stall} ms each way (a round trip is twice the client's ${o.timeoutMs} ms deadline)`);
  await progress(bed, o, `+${stall} ms each way`, o.slowPhaseMs);
  relay.send(`delay ${o.slowDelayMs}`);
  const tC = now();
  o.log(`slow: delay back to ${o.slowDelayMs} ms each way`);
  const loops = ['free', 'tx', ...bed.keys.map((_, i) => keyLoop(i))];
  const recovered = await until(() => loops.every((l) => firstSuccessAfter(callsOf(w.events, l), tC) !== undefined), o.recoverMs + stall, o.signal);
  await sleep(500, o.signal);
  const tEnd = now();
  const all = callsOf(w.events);
  const phaseA = endedIn(all, tA, tB);
  const okLat = phaseA.filter((c) => c.ok && c.l === 'free').map((c) => c.t1 - c.t0);
  lines.push(`phase 1 (+${o.slowDelayMs} ms each way, ${ms(tB - tA)}): ${phaseA.length} calls, errors ${fmtCodes(errorCodes(phaseA))}, keyless latency p50 ${ms(percentile(okLat, 50))} p99 ${ms(percentile(okLat, 99))}; relay connections ${conns(tA - 60_000, tB)}`);
  const aErr = phaseA.filter((c) => !c.ok);
  if (aErr.length > 0) violations.push({ kind: 'slow-errors', client: 'c1-slow', detail: `${aErr.length} errors with only ${o.slowDelayMs} ms added each way: ${fmtCodes(errorCodes(aErr))}` });
  // Calls that started in phase 2 (some end in phase 3: their bytes were queued at the long delay).
  const phaseB = all.filter((c) => c.t0 >= tB && c.t0 < tC);
  const bErr = phaseB.filter((c) => !c.ok);
  const bConns = conns(tB, tC);
  // Each endpoint may try once per connect timeout (the hello wait) plus its backoff: more is a storm.
  const bound = routes.length * (Math.ceil((tC - tB) / o.connectTimeoutMs) + 2);
  const bOk = phaseB.filter((c) => c.ok).map((c) => c.t1 - c.t0);
  lines.push(
    `phase 2 (+${stall} ms each way, ${ms(tC - tB)}): ${phaseB.length} calls started, ${bOk.length} succeeded (slowest ${ms(Math.max(0, ...bOk))}), ` +
      `errors ${fmtCodes(errorCodes(bErr))}, each after ≤ ${ms(Math.max(0, ...bErr.map((c) => c.t1 - c.t0)))}; relay connections ${bConns} (bound ${bound})`,
  );
  const fast = phaseB.filter((c) => c.ok).slice(0, 5).map((c) => `${c.l} +${Math.round(c.t0 - tB)} ms took ${Math.round(c.t1 - c.t0)} ms`);
  // A call that starts late in phase 2 may be answered within its deadline over a connection made after phase 3 began.
  if (fast.length > 0) lines.push(`phase 2 calls that still succeeded (start after the change, time taken): ${fast.join('; ')}`);
  if (bConns > bound) violations.push({ kind: 'retry-storm', client: 'c1-slow', detail: `${bConns} connections in ${ms(tC - tB)} through the relay (bound ${bound})` });
  if (bErr.length === 0) violations.push({ kind: 'no-error', client: 'c1-slow', detail: 'no call failed with a round trip twice the deadline: the delay did not hold, or callers were left waiting' });
  const rec = loops.map((l) => {
    const f = firstSuccessAfter(callsOf(w.events, l), tC);
    return `${l} ${f ? ms(f.t1 - tC) : 'never'}`;
  });
  lines.push(`phase 3 (back to +${o.slowDelayMs} ms): first success after the change: ${rec.join(', ')}; relay connections ${conns(tC, tEnd)}`);
  if (!recovered) violations.push({ kind: 'no-recovery', client: 'c1-slow', detail: `not every loop succeeded again: ${rec.join(', ')}` });
  const c0errs = endedIn(callsOf(worker(bed, 'c0').events), tA, tEnd).filter((c) => !c.ok);
  lines.push(`c0 (direct links) meanwhile: errors ${fmtCodes(errorCodes(c0errs))}`);
  if (c0errs.length > 0) violations.push({ kind: 'bystander', client: 'c0', detail: `${c0errs.length} errors on the client host that was not slowed: ${fmtCodes(errorCodes(c0errs))}` });
  return { name: 'slow', lines, violations, ms: now() - start };
}

export const RUNNERS: Record<ScenarioName, (bed: Bed, o: ScenarioOptions) => Promise<ScenarioResult>> = {
  partition,
  asymmetric,
  'host-loss': hostLoss,
  'two-owners': twoOwners,
  slow,
};

