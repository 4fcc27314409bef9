/**
 * One crash-test client process: a PharaohClient driven by a few concurrent
 * loops (timestamps, transactions, named and anonymous sessions, validates of
 * fenced epochs), appending every answer to its own NDJSON log. Runs until
 * SIGTERM, then finishes its calls in flight, flushes and exits 0.
 *
 * Started by the harness as ONE process: node --import tsx worker.ts '<json config>'.
 */
import { PharaohClient } from '@pharaoh/client';
import { mulberry32 } from '@pharaoh/storage';
import { NdjsonWriter } from './events.js';
import { PLUGINS } from './services/index.js';
import { servedKey, type StepContext } from './services/plugin.js';

export interface WorkerConfig {
  w: number;
  fleetFile: string;
  log: string;
  seed: number;
  /** Producer names per loop: each name is only ever opened by one loop, so its acks are ordered. */
  producers: string[][];
  timeoutMs: number;
  /** Shards 0..shards−1 of each service are served. */
  shards: number;
  /** The plug-in services in the fleet (see services/index.ts); others are not driven. */
  plugins: string[];
}


/** Sessions never expire during a run, so "still OK" and "fenced" are the only right answers. */
const SESSION_TIMEOUT_MS = 3_600_000;
const PAUSE_AFTER_ERROR_MS = 20;

async function main(cfg: WorkerConfig): Promise<void> {
  const log = new NdjsonWriter(cfg.log);
  const rnd = mulberry32(cfg.seed);
  let clock = 0;
  const tick = () => ++clock;
  // Most workers spread keyless calls round-robin so restarted shards are used
  // again (the across-restart checks need IDs from one shard on both sides of
  // its restart); every third keeps the default sticky policy, whose failover
  // moves it off a killed shard for good.
  const policy = cfg.w % 3 === 0 ? 'sticky' : 'round-robin';
  const client = await PharaohClient.connect({ fleet: cfg.fleetFile }, { timeoutMs: cfg.timeoutMs, policy });
  let stopping = false;
  const epochs = new Map<string, Array<{ id: string; ep: number }>>();

  const fail = async (op: string, err: unknown) => {
    const msg = err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300);
    log.write({ k: 'err', w: cfg.w, op, code: (err as { code?: string }).code ?? 'ERROR', msg, t: Date.now() });
    await new Promise((r) => setTimeout(r, PAUSE_AFTER_ERROR_MS));
  };
  const timed = () => ({ w: cfg.w, s: Date.now(), ls: tick() });
  const done = <T extends object>(start: { w: number; s: number; ls: number }, rest: T) => ({ ...rest, ...start, r: Date.now(), lr: tick() });

  async function ts(): Promise<void> {
    const t = timed();
    try {
      if (rnd() < 0.5) {
        const id = await client.tso.next();
        log.write(done(t, { k: 'ts', first: String(id), n: 1 }));
      } else {
        const r = await client.tso.range(1 + Math.floor(rnd() * 32));
        log.write(done(t, { k: 'ts', first: String(r.first), n: r.count }));
      }
    } catch (err) {
      await fail('ts', err);
    }
  }

  async function tx(): Promise<void> {
    let id: bigint;
    const t = timed();
    try {
      const b = await client.tx.begin();
      id = b.txId;
      log.write(done(t, { k: 'txb', id: String(b.txId), st: String(b.startTs) }));
    } catch (err) {
      return fail('tx.begin', err);
    }
    const x = rnd();
    if (x < 0.05) return; // left undecided: presumed abort / timeout must never turn it into a commit
    const d = x < 0.7 ? 'commit' : 'abort';
    log.write({ k: 'txi', w: cfg.w, id: String(id), d });
    const t2 = timed();
    try {
      if (d === 'commit') log.write(done(t2, { k: 'txc', id: String(id), ct: String((await client.tx.commit(id)).commitTs) }));
      else {
        await client.tx.abort(id);
        log.write(done(t2, { k: 'txa', id: String(id) }));
      }
    } catch (err) {
      await fail(`tx.${d}`, err);
    }
  }

  async function open(producer: string | undefined): Promise<void> {
    if (producer !== undefined) log.write({ k: 'soi', w: cfg.w, p: producer });
    const t = timed();
    try {
      const s = await client.sessions.open(producer === undefined ? { timeoutMs: SESSION_TIMEOUT_MS } : { producer, timeoutMs: SESSION_TIMEOUT_MS });
      log.write(done(t, { k: 'so', id: String(s.sessionId), ep: s.epoch, ...(producer === undefined ? {} : { p: producer }) }));
      if (producer !== undefined) (epochs.get(producer) ?? epochs.set(producer, []).get(producer)!).push({ id: String(s.sessionId), ep: s.epoch });
    } catch (err) {
      await fail('session.open', err);
    }
  }

  async function validateOld(names: string[]): Promise<void> {
    const p = names[Math.floor(rnd() * names.length)]!;
    const seen = epochs.get(p) ?? [];
    if (seen.length < 2) return open(p);
    const old = seen[Math.floor(rnd() * (seen.length - 1))]!;
    const t = timed();
    try {
      const st = await client.sessions.validate({ sessionId: BigInt(old.id), epoch: old.ep });
      log.write(done(t, { k: 'sv', id: old.id, ep: old.ep, st }));
    } catch (err) {
      await fail('session.validate', err);
    }
  }

  const plugins = PLUGINS.filter((p) => cfg.plugins.includes(p.service));
  const pluginWeight = plugins.reduce((a, p) => a + p.weight, 0);
  const keys = new Map<string, string>();
  /** Each plug-in's step context for loop `l` (its events tagged with its service). */
  const contexts = (l: number): StepContext[] =>
    plugins.map((p) => ({
      client,
      w: cfg.w,
      loop: l,
      rnd,
      shards: cfg.shards,
      servedKey: (base: string) => keys.get(base) ?? keys.set(base, servedKey(base, cfg.shards)).get(base)!,
      log: (e: { k: string }) => log.write({ ...e, svc: p.service, w: cfg.w }),
      timed,
      done,
      fail,
      stopping: () => stopping,
    }));

  async function loop(names: string[], l: number): Promise<void> {
    const ctx = contexts(l);
    while (!stopping) {
      // Plug-in services take their weights' share of the steps, the built-in mix below the rest.
      const y = rnd();
      if (y < pluginWeight) {
        let acc = 0;
        const i = plugins.findIndex((q) => y < (acc += q.weight));
        await plugins[i]!.step(ctx[i]!);
        continue;
      }
      const x = rnd();
      if (x < 0.45) await ts();
      else if (x < 0.75) await tx();
      else if (x < 0.9) await open(names[Math.floor(rnd() * names.length)]);
      else if (x < 0.95) await open(undefined);
      else await validateOld(names);
    }
  }

  const loops = Promise.all(cfg.producers.map((names, l) => loop(names, l)));
  // Tell the harness we are connected and issuing: it starts killing only then.
  process.stdout.write('ready\n');
  const stop = () => {
    stopping = true;
    // Calls in flight end within the client timeout; never hang the harness.
    setTimeout(() => process.exit(3), cfg.timeoutMs + 10_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await loops;
  await client.close();
  log.close();
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
main(cfg).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`chaos worker ${cfg.w}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
