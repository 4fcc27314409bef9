/**
 * Per service: the load a client puts on a server (recording every answer in
 * the books) and the checks made with a fresh client after the server was
 * restarted — after a SIGKILL (read-only: what a restarted server serves
 * before anything else is written) or after a power cut (read back, then take
 * fresh IDs, decisions and epochs and compare them with everything before).
 */
import type { PharaohClient } from '@pharaoh/client';
import type { ServiceName } from '@pharaoh/registry';
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import type { AnonSession, Counters, Decision, Phase, ProducerRec, Report, TxRec, ViolationKind } from './history.js';
import { IdBook } from './history.js';
import { PLUGIN_MODELS } from './plugin-models.js';
import { codeOf, describeError, keysForShards, mapLimit, sample, sleep } from './util.js';

export interface ModelContext {
  shards: readonly number[];
  rnd: () => number;
  report: Report;
  counters: Counters;
  /** Already-checked records read back again after each restart (a seeded sample of at most this many). */
  sampleOld: number;
}

export interface ServiceModel {
  /** Load loops against `client` until `stopping()` says stop (then every pending call fails: the client is closed). */
  load(client: PharaohClient, stopping: () => boolean): Promise<void>;
  /** The checks after a restart, with a fresh client. */
  check(client: PharaohClient, phase: Exclude<Phase, 'load'>): Promise<void>;
}

/** Sessions never expire during a run: OK and FENCED are the only right answers. */
const SESSION_TIMEOUT_MS = 3_600_000;
/** Transactions never time out during a run: every abort is one the harness asked for. */
const TX_TIMEOUT_MS = 600_000;
const PAUSE_AFTER_ERROR_MS = 20;
const CHECK_CONCURRENCY = 32;
/** After this many failed calls in one check, the rest of it is skipped (each failure costs a client timeout). */
const MAX_CHECK_FAILURES = 20;

/** Failed calls of one check: the first few are reported one by one, the rest summed up. */
class CheckCalls {
  failures = 0;
  skipped = 0;

  constructor(
    private readonly report: Report,
    private readonly service: string,
  ) {}

  /** `fn()`, or undefined after reporting why it failed (`expected` codes are answers, handed to `onCode`). */
  async call<T>(what: string, fn: () => Promise<T>, onCode?: (code: string) => boolean): Promise<T | undefined> {
    if (this.failures >= MAX_CHECK_FAILURES) {
      this.skipped++;
      return undefined;
    }
    try {
      return await fn();
    } catch (err) {
      if (onCode?.(codeOf(err))) return undefined;
      this.failures++;
      if (this.failures <= 5) this.report('unavailable', `${what}: ${describeError(err)}`);
      return undefined;
    }
  }

  finish(): void {
    if (this.failures > 5 || this.skipped > 0) this.report('unavailable', `${this.service}: ${this.failures} check calls failed in all (${this.skipped} more skipped)`);
  }
}

function pick<T>(items: readonly T[], rnd: () => number): T {
  return items[Math.floor(rnd() * items.length)]!;
}

const pause = () => sleep(PAUSE_AFTER_ERROR_MS);

export function createModel(service: ServiceName, ctx: ModelContext): ServiceModel {
  switch (service) {
    case 'tso':
      return new TsoModel(ctx);
    case 'txcoord':
      return new TxModel(ctx);
    case 'session-mgr':
      return new SessionModel(ctx);
    default: {
      // group-coord, schema-registry, sequencer: the crash test's plug-ins, driven and checked (plugin-models.ts).
      const Model = PLUGIN_MODELS[service];
      // SERVICES (server.ts) lists only the services with a model here.
      if (Model === undefined) throw new Error(`powercut has no model (workload and checks) for ${service} yet`);
      return new Model(ctx);
    }
  }
}

/** The services createModel has a model for. */
export const MODELLED_SERVICES: readonly ServiceName[] = ['tso', 'txcoord', 'session-mgr', ...(Object.keys(PLUGIN_MODELS) as ServiceName[])];

/** Timestamps: ranges of every shard; each must be above everything acknowledged on its shard before the call. */
export class TsoModel implements ServiceModel {
  private readonly book: IdBook;
  private readonly keys: Map<number, string[]>;

  constructor(private readonly ctx: ModelContext) {
    this.book = new IdBook(ctx.counters);
    this.keys = keysForShards(ctx.shards, 'powercut-ts-', 1);
  }

  private take(first: bigint, count: number, sent: number, floor: bigint, what: string): void {
    const shard = TSO_LAYOUT.shardOf(first);
    this.book.addRange(shard, first, count, shard === sent ? floor : undefined, this.ctx.report, what);
  }

  async load(client: PharaohClient, stopping: () => boolean): Promise<void> {
    const { rnd, shards } = this.ctx;
    const loop = async () => {
      while (!stopping()) {
        const s = pick(shards, rnd);
        const key = this.keys.get(s)![0]!;
        const floor = this.book.floor(s);
        try {
          if (rnd() < 0.5) this.take(await client.tso.next({ key }), 1, s, floor, 'tso.next');
          else {
            const r = await client.tso.range(1 + Math.floor(rnd() * 64), { key });
            this.take(r.first, r.count, s, floor, 'tso.range');
          }
        } catch {
          if (!stopping()) await pause();
        }
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
  }

  async check(client: PharaohClient, phase: Exclude<Phase, 'load'>): Promise<void> {
    const calls = new CheckCalls(this.ctx.report, 'tso');
    await mapLimit(this.ctx.shards, CHECK_CONCURRENCY, async (s) => {
      const floor = this.book.floor(s);
      const r = await calls.call(`tso.range on shard ${s} ${phase}`, () => client.tso.range(16, { key: this.keys.get(s)![0]! }));
      if (!r) return;
      this.take(r.first, r.count, s, floor, `first timestamps ${phase}`);
      this.ctx.counters.crossIds += r.count;
    });
    calls.finish();
  }
}

/** Transactions: begin, then commit (65 %), abort (30 %) or nothing (5 %); decisions read back after restarts. */
export class TxModel implements ServiceModel {
  private readonly book: IdBook;
  private readonly keys: Map<number, string[]>;
  private readonly txs: TxRec[] = [];
  private begins = 0;

  constructor(private readonly ctx: ModelContext) {
    this.book = new IdBook(ctx.counters);
    this.keys = keysForShards(ctx.shards, 'powercut-tx-', 1);
  }

  private async begin(client: PharaohClient, s: number, what: string): Promise<TxRec> {
    const floor = this.book.floor(s);
    const b = await client.tx.begin({ key: this.keys.get(s)![0]!, timeoutMs: TX_TIMEOUT_MS });
    const shard = TX_LAYOUT.shardOf(b.txId);
    const n = ++this.begins;
    const f = shard === s ? floor : undefined;
    this.book.addOwned(shard, b.txId, `txId of begin #${n}`, f, this.ctx.report, what);
    this.book.addOwned(shard, b.startTs, `startTs of tx ${b.txId}`, f, this.ctx.report, what);
    const rec: TxRec = { txId: b.txId, shard, intent: 'none', checked: false };
    this.txs.push(rec);
    return rec;
  }

  /** The harness now knows `rec`'s decision; a different one known before is a violation. */
  private learn(rec: TxRec, d: Decision, how: 'ack' | 'observed', what: string): void {
    if (rec.known !== undefined && rec.known !== d) {
      rec.broken = true;
      this.ctx.report(rec.known === 'COMMITTED' ? 'lost-commit' : 'lost-abort', `${what}: tx ${rec.txId} (shard ${rec.shard}) was ${rec.how === 'ack' ? 'acknowledged' : 'seen'} ${rec.known}, now ${d}`);
      return;
    }
    rec.known = d;
    if (rec.how !== 'ack') rec.how = how;
  }

  private learnCommit(rec: TxRec, commitTs: bigint, how: 'ack' | 'observed', floor: bigint | undefined, what: string): void {
    if (rec.commitTs !== undefined && rec.commitTs !== commitTs) this.ctx.report('commit-ts', `${what}: tx ${rec.txId} (shard ${rec.shard}) was acknowledged with commitTs ${rec.commitTs}, now answers ${commitTs}`);
    this.book.addOwned(rec.shard, commitTs, `commitTs of tx ${rec.txId}`, floor, this.ctx.report, what);
    rec.commitTs ??= commitTs;
    this.learn(rec, 'COMMITTED', how, what);
  }

  private async decide(client: PharaohClient, rec: TxRec, d: 'commit' | 'abort', what: string): Promise<boolean> {
    rec.intent = d;
    const floor = this.book.floor(rec.shard);
    try {
      if (d === 'commit') this.learnCommit(rec, (await client.tx.commit(rec.txId)).commitTs, 'ack', floor, what);
      else {
        await client.tx.abort(rec.txId);
        this.learn(rec, 'ABORTED', 'ack', what);
      }
      return true;
    } catch (err) {
      // The server's answer names the decision: that is an acknowledgement too.
      const code = codeOf(err);
      if (code === 'TX_ABORTED') this.learn(rec, 'ABORTED', 'ack', what);
      else if (code === 'TX_COMMITTED') this.learn(rec, 'COMMITTED', 'ack', what);
      else throw err;
      return true;
    }
  }

  async load(client: PharaohClient, stopping: () => boolean): Promise<void> {
    const { rnd, shards } = this.ctx;
    const loop = async () => {
      while (!stopping()) {
        try {
          const rec = await this.begin(client, pick(shards, rnd), 'tx.begin');
          const x = rnd();
          if (x < 0.05) continue; // left undecided: it must never read COMMITTED
          await this.decide(client, rec, x < 0.7 ? 'commit' : 'abort', x < 0.7 ? 'tx.commit' : 'tx.abort');
        } catch {
          if (!stopping()) await pause();
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, loop));
  }

  async check(client: PharaohClient, phase: Exclude<Phase, 'load'>): Promise<void> {
    const { report, counters } = this.ctx;
    const calls = new CheckCalls(report, 'txcoord');
    const fresh = this.txs.filter((t) => !t.checked && !t.broken);
    const old = sample(this.txs.filter((t) => t.checked && !t.broken && t.known !== undefined), this.ctx.sampleOld, this.ctx.rnd);
    const committed: TxRec[] = [];
    // 1. Read back (no writes): every transaction begun before the restart is decided now.
    await mapLimit([...fresh, ...old], CHECK_CONCURRENCY, async (rec) => {
      const st = await calls.call(`tx.status ${rec.txId} ${phase}`, () => client.tx.status(rec.txId));
      if (st === undefined) return;
      counters.decisions++;
      rec.checked = true;
      const was = `tx ${rec.txId} (shard ${rec.shard}, ${rec.intent === 'none' ? 'never decided by the client' : `${rec.intent} asked`})`;
      const broken = (kind: ViolationKind, message: string) => {
        rec.broken = true;
        report(kind, message);
      };
      if (st === 'ACTIVE' || st === 'UNKNOWN') broken('tx-state', `${was} reads ${st} ${phase}`);
      if (rec.known === 'COMMITTED' && st !== 'COMMITTED') broken('lost-commit', `${was} was ${rec.how === 'ack' ? 'acknowledged' : 'seen'} COMMITTED${rec.commitTs !== undefined ? ` (commitTs ${rec.commitTs})` : ''}, reads ${st} ${phase}`);
      else if (rec.known === 'ABORTED' && st !== 'ABORTED') broken('lost-abort', `${was} was ${rec.how === 'ack' ? 'acknowledged' : 'seen'} ABORTED, reads ${st} ${phase}`);
      else if (rec.intent === 'none' && st === 'COMMITTED') broken('phantom-commit', `${was} reads COMMITTED ${phase}`);
      else if (rec.known === undefined && (st === 'COMMITTED' || st === 'ABORTED')) this.learn(rec, st, 'observed', phase);
      if (st === 'COMMITTED' && rec.known === 'COMMITTED') committed.push(rec);
    });
    // 2. Committed ones answer the same commitTs to a retried commit (idempotent: no new decision).
    await mapLimit(committed, CHECK_CONCURRENCY, async (rec) => {
      const r = await calls.call(`tx.commit ${rec.txId} (retry) ${phase}`, () => client.tx.commit(rec.txId), (code) => {
        if (code !== 'TX_ABORTED' && code !== 'TX_NOT_FOUND') return false;
        rec.broken = true;
        report('tx-state', `tx ${rec.txId} (shard ${rec.shard}) reads COMMITTED but a retried commit answers ${code} ${phase}`);
        return true;
      });
      if (r) this.learnCommit(rec, r.commitTs, 'observed', undefined, `retried commit ${phase}`);
    });
    // 3. After a power cut: fresh transactions on every shard, above everything before.
    if (phase === 'after-cut') {
      await mapLimit(this.ctx.shards, CHECK_CONCURRENCY, async (s) => {
        const rec = await calls.call(`tx.begin on shard ${s} ${phase}`, () => this.begin(client, s, `first begin ${phase}`));
        if (!rec) return;
        counters.crossIds += 2;
        if (await calls.call(`tx.commit ${rec.txId} ${phase}`, () => this.decide(client, rec, 'commit', `first commit ${phase}`))) counters.crossIds++;
      });
    }
    calls.finish();
  }
}

/** Sessions: named producers re-opened again and again (each open fences the older epochs), anonymous sessions, validates of fenced epochs. */
export class SessionModel implements ServiceModel {
  private readonly book: IdBook;
  private readonly producers: ProducerRec[];
  private readonly anon: AnonSession[] = [];
  private anonOpens = 0;
  private static readonly LOOPS = 4;

  constructor(private readonly ctx: ModelContext) {
    this.book = new IdBook(ctx.counters);
    const names = keysForShards(ctx.shards, 'powercut-producer-', 2);
    this.producers = [...names.entries()].flatMap(([shard, list]) =>
      list.map((name) => ({ name, shard, epochs: [], checkedUpTo: 0, maxAcked: -1, fenced: new Set<number>(), unsure: false, busy: false })),
    );
  }

  private learnOpen(p: ProducerRec, s: { sessionId: bigint; epoch: number }, what: string): void {
    const { report } = this.ctx;
    const fencedMax = Math.max(-1, ...p.fenced);
    let lost = false;
    if (p.sessionId !== undefined && s.sessionId !== p.sessionId) {
      report('session-id', `${what}: producer ${p.name} (shard ${p.shard}) got session ${s.sessionId} epoch ${s.epoch}; acknowledged before: session ${p.sessionId} up to epoch ${p.maxAcked}`);
      lost = true;
    } else if (s.epoch <= p.maxAcked) {
      report('epoch', `${what}: producer ${p.name} (shard ${p.shard}) got epoch ${s.epoch}, not above epoch ${p.maxAcked} acknowledged before`);
      lost = true;
    } else if (s.epoch <= fencedMax) {
      report('epoch', `${what}: producer ${p.name} (shard ${p.shard}) got epoch ${s.epoch}, not above epoch ${fencedMax} seen FENCED before`);
      lost = true;
    }
    if (lost) {
      // One report per loss: the producer's history starts over from this answer.
      p.epochs = [];
      p.checkedUpTo = 0;
      p.maxAcked = -1;
      p.fenced.clear();
      p.sessionId = s.sessionId;
    }
    this.book.addOwned(SESSION_LAYOUT.shardOf(s.sessionId), s.sessionId, `session of producer ${p.name}`, undefined, report, what);
    p.sessionId ??= s.sessionId;
    p.epochs.push(s.epoch);
    if (s.epoch > p.maxAcked) p.maxAcked = s.epoch;
  }

  private async openNamed(client: PharaohClient, p: ProducerRec, what: string): Promise<boolean> {
    try {
      this.learnOpen(p, await client.sessions.open({ producer: p.name, timeoutMs: SESSION_TIMEOUT_MS }), what);
      return true;
    } catch (err) {
      // Its answer never came: the server may hold a newer epoch than any acknowledged.
      p.unsure = true;
      throw err;
    }
  }

  private async openAnonymous(client: PharaohClient, what: string): Promise<void> {
    const floors = this.book.floors();
    const s = await client.sessions.open({ timeoutMs: SESSION_TIMEOUT_MS });
    const shard = SESSION_LAYOUT.shardOf(s.sessionId);
    this.book.addOwned(shard, s.sessionId, `anonymous session #${++this.anonOpens}`, floors.get(shard) ?? -1n, this.ctx.report, what);
    if (s.epoch !== 0) this.ctx.report('epoch', `${what}: a new anonymous session ${s.sessionId} has epoch ${s.epoch}, not 0`);
    this.anon.push({ sessionId: s.sessionId, epoch: s.epoch, checked: false });
  }

  /** `st` is the answer for epoch `epoch` of `p`, which must be FENCED (`why` says why). */
  private expectFenced(p: ProducerRec, epoch: number, st: string, why: string, when: string): void {
    if (st === 'FENCED') return;
    this.ctx.report(st === 'OK' ? 'fence' : 'epoch-lost', `producer ${p.name} (shard ${p.shard}, session ${p.sessionId}) epoch ${epoch} validates ${st} ${when}; ${why}`);
  }

  async load(client: PharaohClient, stopping: () => boolean): Promise<void> {
    const { rnd, counters } = this.ctx;
    const loop = async (mine: ProducerRec[]) => {
      while (!stopping()) {
        const x = rnd();
        const p = pick(mine, rnd);
        const olds = p.epochs.filter((e) => e < p.maxAcked);
        try {
          if (x < 0.65 || olds.length === 0) {
            const before = p.maxAcked;
            await this.openNamed(client, p, 'session.open');
            if (before >= 0) counters.liveChecks++;
          } else if (x < 0.85) await this.openAnonymous(client, 'anonymous session.open');
          else {
            const e = pick(olds, rnd);
            const newest = p.maxAcked;
            const st = await client.sessions.validate({ sessionId: p.sessionId!, epoch: e });
            counters.liveChecks++;
            this.expectFenced(p, e, st, `epoch ${newest} was acknowledged before the validate`, 'during load');
          }
        } catch {
          if (!stopping()) await pause();
        }
      }
    };
    const n = SessionModel.LOOPS;
    await Promise.all(Array.from({ length: n }, (_, i) => loop(this.producers.filter((_, j) => j % n === i))));
  }

  async check(client: PharaohClient, phase: Exclude<Phase, 'load'>): Promise<void> {
    const { report, counters, rnd } = this.ctx;
    const calls = new CheckCalls(report, 'session-mgr');
    const validate = (sessionId: bigint, epoch: number, what: string) => calls.call(`session.validate ${sessionId}/${epoch} ${what} ${phase}`, () => client.sessions.validate({ sessionId, epoch }));
    // 1. Read back (no writes): older epochs FENCED, the newest acknowledged one OK.
    await mapLimit(
      this.producers.filter((p) => p.maxAcked >= 0),
      CHECK_CONCURRENCY,
      async (p) => {
        const sid = p.sessionId!;
        const older = new Set<number>([
          ...p.epochs.slice(p.checkedUpTo).filter((e) => e < p.maxAcked),
          ...sample(p.epochs.slice(0, p.checkedUpTo).filter((e) => e < p.maxAcked), 4, rnd),
          ...sample([...p.fenced].filter((e) => e !== p.maxAcked), 8, rnd),
        ]);
        for (const e of older) {
          const st = await validate(sid, e, `(older epoch of ${p.name})`);
          if (st === undefined) continue;
          counters.epochs++;
          this.expectFenced(p, e, st, p.fenced.has(e) && e >= p.maxAcked ? 'it was seen FENCED before' : `epoch ${p.maxAcked} was acknowledged before`, phase);
        }
        const st = await validate(sid, p.maxAcked, `(newest epoch of ${p.name})`);
        if (st !== undefined) {
          counters.epochs++;
          if (p.fenced.has(p.maxAcked)) this.expectFenced(p, p.maxAcked, st, 'it was seen FENCED before', phase);
          else if (st === 'FENCED') {
            if (p.unsure) p.fenced.add(p.maxAcked);
            else report('phantom-epoch', `producer ${p.name} (shard ${p.shard}) epoch ${p.maxAcked} validates FENCED ${phase}, but no open after it was ever sent`);
          } else if (st !== 'OK') report('epoch-lost', `producer ${p.name} (shard ${p.shard}, session ${sid}) newest acknowledged epoch ${p.maxAcked} validates ${st} ${phase}`);
        }
        p.checkedUpTo = p.epochs.length;
      },
    );
    const anon = [...this.anon.filter((a) => !a.checked && !a.broken), ...sample(this.anon.filter((a) => a.checked && !a.broken), 32, rnd)];
    await mapLimit(anon, CHECK_CONCURRENCY, async (a) => {
      const st = await validate(a.sessionId, a.epoch, '(anonymous)');
      if (st === undefined) return;
      counters.epochs++;
      a.checked = true;
      if (st === 'OK') return;
      a.broken = true;
      report('epoch-lost', `anonymous session ${a.sessionId} epoch ${a.epoch} validates ${st} ${phase}`);
    });
    // 2. After a power cut: every producer opens again — above every acknowledged epoch, same session — and fresh anonymous sessions.
    if (phase === 'after-cut') {
      await mapLimit(this.producers, CHECK_CONCURRENCY, async (p) => {
        const before = p.maxAcked;
        const ok = await calls.call(`session.open ${p.name} ${phase}`, () => this.openNamed(client, p, `first open ${phase}`));
        if (!ok) return;
        counters.epochs++;
        p.unsure = false;
        p.fenced.clear();
        if (before >= 0) {
          const st = await validate(p.sessionId!, before, `(previous epoch of ${p.name})`);
          if (st !== undefined) {
            counters.epochs++;
            this.expectFenced(p, before, st, `epoch ${p.maxAcked} was just acknowledged`, phase);
          }
        }
        p.checkedUpTo = p.epochs.length;
      });
      await mapLimit(this.ctx.shards, CHECK_CONCURRENCY, async () => {
        if ((await calls.call(`anonymous session.open ${phase}`, () => this.openAnonymous(client, `first anonymous open ${phase}`).then(() => true))) === true) counters.crossIds++;
      });
    }
    calls.finish();
  }
}
