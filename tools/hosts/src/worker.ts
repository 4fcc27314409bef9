/**
 * A client host's producer: one PharaohClient (the real router, fleet file,
 * TLS, token) running sequential call loops, and reporting every answer — and
 * every error a caller saw — as one JSON line on stdout, for the orchestrator
 * to check. Commands arrive as lines on stdin:
 *   `stop`          end the loops, read every acknowledged commit back, exit
 *   `probe <path>`  connect a second client with the fleet file at <path> and report whether it was refused
 *
 * Started by the orchestrator inside the host's namespace: argv[2] is the JSON of WorkerConfig.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PharaohClient, type ClientOptions } from '@pharaoh/client';
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import type { WorkerConfig, WorkerEvent } from './events.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const now = (): number => performance.timeOrigin + performance.now();
const emit = (e: WorkerEvent): void => {
  process.stdout.write(`${JSON.stringify(e)}\n`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c : `UNTYPED:${(err as Error)?.name ?? typeof err}`;
}

function message(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return `${e?.message ?? String(err)}${e?.cause?.message ? ` (cause: ${e.cause.message})` : ''}`.slice(0, 300);
}

const options: ClientOptions = {
  token: cfg.token,
  tls: { ca: readFileSync(cfg.ca) },
  timeoutMs: cfg.timeoutMs,
  connectTimeoutMs: cfg.connectTimeoutMs,
  onStatus: (s) => {
    const detail = 'detail' in s ? s.detail : 'error' in s ? s.error : undefined;
    emit({ e: 'status', t: now(), type: s.type, endpoint: s.endpoint, ...('reason' in s ? { reason: s.reason } : {}), ...(detail ? { detail } : {}) });
  },
};

let stopping = false;
const commits: Array<{ txId: bigint; commitTs: bigint }> = [];
/** Per named producer: acknowledged opens in order, and whether an open after the last acknowledged one went unanswered. */
const producers = new Map<string, { acked: Array<{ sessionId: bigint; epoch: number }>; unansweredSince: boolean }>();

async function loop(name: string, pauseMs: number, call: () => Promise<Record<string, string | number>>): Promise<void> {
  // Bounded by `stop` and by the worker's own life time (the orchestrator's limit, plus a margin).
  const until = now() + cfg.maxLifeMs;
  while (!stopping && now() < until) {
    const t0 = now();
    try {
      const r = await call();
      emit({ e: 'call', l: name, t0, t1: now(), ok: true, ...r });
    } catch (err) {
      emit({ e: 'call', l: name, t0, t1: now(), ok: false, code: codeOf(err), msg: message(err) });
    }
    await sleep(pauseMs);
  }
}

/** Read-back budget: every commit up to this many, else an even sample of this many (16 at a time). */
const MAX_VERIFY = 1_500;

async function verify(client: PharaohClient): Promise<void> {
  const violations: string[] = [];
  let checked = 0;
  const step = Math.max(1, Math.ceil(commits.length / MAX_VERIFY));
  const sample = commits.filter((_, i) => i % step === 0);
  let next = 0;
  // Every sampled acknowledged commit must read COMMITTED; every 20th is committed again and must get the same commitTs.
  const reader = async (): Promise<void> => {
    while (next < sample.length) {
      const i = next++;
      const c = sample[i]!;
      try {
        const st = await client.tx.status(c.txId);
        checked++;
        if (st !== 'COMMITTED') violations.push(`lost-commit: tx ${c.txId} acknowledged COMMITTED at ${c.commitTs} reads ${st}`);
        if (i % 20 === 0) {
          const again = await client.tx.commit(c.txId);
          if (again.commitTs !== c.commitTs) violations.push(`commit-ts: tx ${c.txId} committed at ${c.commitTs}, a retried commit says ${again.commitTs}`);
        }
      } catch (err) {
        violations.push(`unavailable: tx ${c.txId} could not be read back: ${codeOf(err)} ${message(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  // The newest acknowledged epoch of each producer is live (or FENCED, if a later open went unanswered:
  // the server may have acted on it); the one before it is FENCED.
  for (const [producer, p] of producers) {
    const newest = p.acked[p.acked.length - 1];
    const older = p.acked[p.acked.length - 2];
    try {
      if (newest) {
        const st = await client.sessions.validate(newest);
        checked++;
        if (st !== 'OK' && !(st === 'FENCED' && p.unansweredSince)) violations.push(`epoch-lost: ${producer}'s newest acknowledged epoch ${newest.epoch} validates ${st}`);
      }
      if (older) {
        const st = await client.sessions.validate(older);
        checked++;
        if (st !== 'FENCED') violations.push(`fence: ${producer}'s epoch ${older.epoch}, fenced by ${newest!.epoch}, validates ${st}`);
      }
    } catch (err) {
      violations.push(`unavailable: ${producer}'s session could not be validated: ${codeOf(err)} ${message(err)}`);
    }
  }
  emit({ e: 'verify', checked, violations });
}

async function probe(path: string): Promise<void> {
  const t0 = now();
  try {
    const c = await PharaohClient.connect({ fleet: path }, { ...options, onStatus: undefined });
    await c.close();
    emit({ e: 'probe', t0, t1: now(), refused: false, code: 'OK', msg: 'connected' });
  } catch (err) {
    emit({ e: 'probe', t0, t1: now(), refused: true, code: codeOf(err), msg: message(err) });
  }
}

async function main(): Promise<void> {
  const client = await PharaohClient.connect({ fleet: cfg.fleet }, options);
  emit({ e: 'ready', t: now() });
  const loops: Array<Promise<void>> = [];
  loops.push(loop('free', cfg.pauseMs, async () => {
    const id = await client.tso.next();
    return { id: id.toString(), shard: TSO_LAYOUT.shardOf(id) };
  }));
  cfg.keys.forEach((key, i) => {
    loops.push(loop(`key${i}`, cfg.pauseMs * 4, async () => {
      const id = await client.tso.next({ key });
      return { id: id.toString(), shard: TSO_LAYOUT.shardOf(id) };
    }));
  });
  loops.push(loop('tx', cfg.pauseMs * 4, async () => {
    const { txId } = await client.tx.begin();
    const { commitTs } = await client.tx.commit(txId);
    commits.push({ txId, commitTs });
    return { id: txId.toString(), shard: TX_LAYOUT.shardOf(txId), commitTs: commitTs.toString() };
  }));
  loops.push(loop('sess', cfg.pauseMs * 4, async () => {
    const { sessionId } = await client.sessions.open({ timeoutMs: 60_000 });
    return { id: sessionId.toString(), shard: SESSION_LAYOUT.shardOf(sessionId) };
  }));
  let turn = 0;
  loops.push(loop('prod', cfg.pauseMs * 8, async () => {
    const producer = cfg.producers[turn++ % cfg.producers.length]!;
    const p = producers.get(producer) ?? { acked: [], unansweredSince: false };
    producers.set(producer, p);
    p.unansweredSince = true;
    const s = await client.sessions.open({ producer, timeoutMs: 600_000 });
    p.acked.push({ sessionId: s.sessionId, epoch: s.epoch });
    p.unansweredSince = false;
    return { producer, epoch: s.epoch, shard: SESSION_LAYOUT.shardOf(s.sessionId) };
  }));
  const rl = createInterface({ input: process.stdin });
  const done = new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      const [cmd, arg] = line.trim().split(/\s+/, 2);
      if (cmd === 'stop') {
        stopping = true;
        resolve();
      } else if (cmd === 'probe' && arg) void probe(arg);
    });
    rl.on('close', () => {
      stopping = true;
      resolve();
    });
  });
  await done;
  await Promise.all(loops);
  await verify(client);
  await client.close();
  rl.close();
  emit({ e: 'done', t: now() });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    emit({ e: 'fatal', t: now(), code: codeOf(err), msg: message(err) });
    process.exit(1);
  },
);
