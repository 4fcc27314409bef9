/**
 * The test bed: the network (net.ts), the secrets and fleet file (fleet.ts),
 * the server pods on server hosts and the client workers on client hosts, and
 * the one place that undoes all of it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { shardForKey } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/registry';

import { REPO_ROOT, parseListening } from '@pharaoh/testkit';
import type { WorkerConfig, WorkerEvent } from './events.js';
import { SERVER_HOSTS, SERVICES, entrypointArgs, fleetFile, makeSecrets, podDns, rogueDns, type Secrets } from './fleet.js';
import { Network, type Host } from './net.js';
import { killAllSync, killProc, startNode, type Proc } from './proc.js';

const HERE = new URL('.', import.meta.url).pathname;

/** Host octets: server hosts 10..12, the spare 13 (replacements land there), client hosts 20.. */
const SERVER_OCTET = 10;
const SPARE = 's3';
const SPARE_OCTET = 13;
const CLIENT_OCTET = 20;
export const CLIENT_HOSTS = ['c0', 'c1'] as const;
const DIR_PREFIX = 'pharaoh-hosts-';

export interface Pod {
  service: ServiceName;
  ordinal: number;
  /** Data directory (the pod's volume). */
  data: string;
  host: Host;
  proc: Proc | undefined;
  /** The name clients use for it. */
  dns: string;
}

export class Worker {
  readonly events: WorkerEvent[] = [];
  private readonly waiters: Array<{ pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }> = [];

  constructor(
    readonly name: string,
    readonly proc: Proc,
  ) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let e: WorkerEvent;
      try {
        e = JSON.parse(line) as WorkerEvent;
      } catch {
        return;
      }
      this.events.push(e);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.pred(e)) {
          this.waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    });
  }

  send(line: string): void {
    this.proc.child.stdin!.write(`${line}\n`);
  }

  /** The next event matching `pred` (or one already received, with `past`), or a rejection after `ms`. */
  waitFor<E extends WorkerEvent>(pred: (e: WorkerEvent) => e is E, ms: number, what: string, past = false): Promise<E> {
    if (past) {
      const found = this.events.find(pred);
      if (found) return Promise.resolve(found);
    }
    return new Promise<E>((resolve, reject) => {
      const w = { pred, resolve: resolve as (e: WorkerEvent) => void };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`${this.name}: no ${what} within ${ms} ms; stderr: ${this.proc.stderr().slice(-2000)}`));
      }, ms);
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(t), w.resolve(e)) });
      void this.proc.exited.then((st) => {
        // A worker that exits can still have its last lines in the pipe: give them a moment.
        setTimeout(() => reject(new Error(`${this.name} exited (code ${st.code}, signal ${st.signal}) before ${what}; stderr: ${this.proc.stderr().slice(-2000)}`)), 500);
      });
    });
  }
}

export interface BedOptions {
  dir?: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  pauseMs: number;
  maxLifeMs: number;
  startTimeoutMs: number;
  log: (line: string) => void;
}

export class Bed {
  readonly net = new Network();
  readonly dir: string;
  readonly secrets: Secrets;
  readonly pods: Pod[] = [];
  readonly workers = new Map<string, Worker>();
  /** Every worker ever started (a replaced worker's events still count). */
  readonly allWorkers: Worker[] = [];
  readonly keys: string[] = [];
  readonly fleetPath: string;
  private extraNames = new Map<string, string>();

  constructor(readonly o: BedOptions) {
    const parent = o.dir ?? tmpdir();
    // A run that was SIGKILLed left its directory (volumes, certificate) behind: one run at a time owns the prefix.
    for (const d of readdirSync(parent)) if (d.startsWith(DIR_PREFIX)) rmSync(join(parent, d), { recursive: true, force: true });
    this.dir = mkdtempSync(join(parent, DIR_PREFIX));
    this.secrets = makeSecrets(this.dir);
    this.fleetPath = join(this.dir, 'fleet.json');
    writeFileSync(this.fleetPath, `${JSON.stringify(fleetFile(), null, 2)}\n`);
    for (let ord = 0; ord < SERVER_HOSTS; ord++) this.keys.push(keyForOrdinal(ord));
  }

  /** Bridge, server hosts, the spare, client hosts; hosts files. */
  createNetwork(): void {
    this.net.create();
    for (let i = 0; i < SERVER_HOSTS; i++) this.net.addHost(`s${i}`, SERVER_OCTET + i);
    this.net.addHost(SPARE, SPARE_OCTET);
    CLIENT_HOSTS.forEach((c, i) => this.net.addHost(c, CLIENT_OCTET + i));
  }

  get spare(): Host {
    return this.net.host(SPARE);
  }

  serverHost(ordinal: number): Host {
    return this.net.host(`s${ordinal}`);
  }

  /** Pod names → addresses as every host's hosts file should say now. */
  names(): Map<string, string> {
    const m = new Map<string, string>();
    for (const p of this.pods) m.set(p.dns, p.host.ip);
    for (const [k, v] of this.extraNames) m.set(k, v);
    return m;
  }

  /** Rewrite every host's hosts file from `names()` (what a DNS update does), optionally overriding some hosts' view. */
  publishNames(override?: Map<string, Map<string, string>>): void {
    const names = this.names();
    for (const h of this.net.hosts.values()) this.net.setHostsFile(h, override?.get(h.name) ?? names);
  }

  setExtraName(name: string, ip: string | undefined): void {
    if (ip === undefined) this.extraNames.delete(name);
    else this.extraNames.set(name, ip);
  }

  /** Start every pod: ordinal n of each service on server host n. */
  async startPods(): Promise<void> {
    for (const service of SERVICES) {
      for (let ord = 0; ord < SERVER_HOSTS; ord++) {
        const data = join(this.dir, 'volumes', `${service}-${ord}`);
        mkdirSync(data, { recursive: true });
        this.pods.push({ service, ordinal: ord, data, host: this.serverHost(ord), proc: undefined, dns: podDns(service, ord) });
      }
    }
    this.publishNames();
    await Promise.all(this.pods.map((p) => this.startPod(p, p.host)));
  }

  /** Start `pod` on `host` from its volume, with the command line deploy/entrypoint.sh gives it. */
  async startPod(pod: Pod, host: Host, name = `${pod.service}-${pod.ordinal}`): Promise<Proc> {
    const { args } = entrypointArgs(pod.service, pod.ordinal, pod.data);
    const proc = startNode(host, `${name} on ${host.name}`, join(REPO_ROOT, 'apps', pod.service, 'src', 'main.ts'), [...args, '--log-level', 'warn'], {
      PHARAOH_TLS_CERT: this.secrets.certFile,
      PHARAOH_TLS_KEY: this.secrets.keyFile,
      PHARAOH_TOKEN_FILE: this.secrets.tokenFile,
    });
    await waitListening(proc, this.o.startTimeoutMs);
    pod.host = host;
    pod.proc = proc;
    return proc;
  }

  /** A copy of `pod`'s volume, served by a second process on `host` under the rogue name (the two-owners scenario). */
  async startCopy(pod: Pod, host: Host): Promise<{ proc: Proc; dns: string }> {
    const data = join(this.dir, 'volumes', `${pod.service}-${pod.ordinal}-copy`);
    rmSync(data, { recursive: true, force: true });
    // The counters are sparse files whose size is the value: a plain copy would write gigabytes of zeros.
    execFileSync('cp', ['-a', '--sparse=always', pod.data, data], { timeout: 60_000 });
    const copy: Pod = { ...pod, data, host, proc: undefined, dns: rogueDns(pod.service, pod.ordinal) };
    const proc = await this.startPod(copy, host, `${pod.service}-${pod.ordinal} copy`);
    return { proc, dns: copy.dns };
  }

  async killPod(pod: Pod): Promise<void> {
    if (pod.proc) await killProc(pod.proc);
    pod.proc = undefined;
  }

  workerConfig(name: string): WorkerConfig {
    return {
      // A named producer per server host and client: its sessions live on that host's shards.
      producers: this.keys.map((_, ord) => keyForOrdinal(ord, `${name}-producer${ord}-`)),
      fleet: this.fleetPath,
      ca: this.secrets.certFile,
      token: this.secrets.clientToken,
      timeoutMs: this.o.timeoutMs,
      connectTimeoutMs: this.o.connectTimeoutMs,
      pauseMs: this.o.pauseMs,
      keys: this.keys,
      maxLifeMs: this.o.maxLifeMs,
    };
  }

  /** Start a client worker on `host` under `name` and wait until it has connected. */
  async startWorker(host: Host, name: string): Promise<Worker> {
    const proc = startNode(host, `client ${name}`, join(HERE, 'worker.ts'), [JSON.stringify(this.workerConfig(name))]);
    const w = new Worker(name, proc);
    this.workers.set(name, w);
    this.allWorkers.push(w);
    await w.waitFor((e): e is Extract<WorkerEvent, { e: 'ready' }> => e.e === 'ready', this.o.startTimeoutMs, 'ready');
    return w;
  }

  /** Stop a worker: its loops end, it reads every acknowledged commit back, it exits. */
  async stopWorker(w: Worker, ms: number): Promise<void> {
    w.send('stop');
    await w.waitFor((e): e is Extract<WorkerEvent, { e: 'done' }> => e.e === 'done' || e.e === 'fatal', ms, 'done');
    await Promise.race([w.proc.exited, new Promise((r) => setTimeout(r, 5_000))]);
    this.workers.delete(w.name);
  }

  /** Start the relay of the slow-network scenario on `host`; returns it with its events. */
  async startRelay(host: Host, routes: Array<{ listen: string; target: string }>, delayMs: number): Promise<Worker> {
    const proc = startNode(host, `relay on ${host.name}`, join(HERE, 'relay.ts'), [JSON.stringify({ routes, delayMs })]);
    const w = new Worker(`relay ${host.name}`, proc);
    await w.waitFor((e): e is WorkerEvent => (e as { e: string }).e === 'ready', this.o.startTimeoutMs, 'relay ready');
    return w;
  }

  /**
   * Undo everything: every process SIGKILLed by its group, every namespace,
   * veth and the bridge removed, the temporary directory deleted. Returns problems.
   */
  destroy(): string[] {
    killAllSync();
    const problems = this.net.destroy();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      problems.push(`rm ${this.dir}: ${(err as Error).message}`);
    }
    return problems;
  }
}

/** A key whose shard lies in pod ordinal `ord`'s range (so its keyed calls reach only that server host). */
export function keyForOrdinal(ord: number, prefix = `host${ord}-key`): string {
  const [lo, hi] = entrypointRange(ord);
  for (let i = 0; i < 1_000_000; i++) {
    const s = shardForKey(`${prefix}${i}`);
    if (s >= lo && s <= hi) return `${prefix}${i}`;
  }
  throw new Error(`no key found for ordinal ${ord}`);
}

function entrypointRange(ord: number): [number, number] {
  const { shards } = entrypointArgs('tso', ord, '/nonexistent');
  const [lo, hi] = shards.split('-').map(Number);
  return [lo!, hi!];
}

function waitListening(proc: Proc, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${proc.name} did not listen within ${ms} ms; stderr: ${proc.stderr().slice(-2000)}`));
    }, ms);
    const poll = setInterval(() => {
      if (parseListening(proc.stderr()) !== undefined) {
        clearTimeout(t);
        clearInterval(poll);
        resolve();
      }
    }, 50);
    void proc.exited.then((st) => {
      clearTimeout(t);
      clearInterval(poll);
      reject(new Error(`${proc.name} exited (code ${st.code}, signal ${st.signal}) before listening; stderr: ${proc.stderr().slice(-2000)}`));
    });
  });
}
