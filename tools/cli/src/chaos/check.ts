/**
 * The crash test's verdict, computed from what the clients received (worker
 * logs), what the harness did (kills, starts) and what the fleet answered
 * after the run. Pure functions: the unit tests feed them hand-made histories
 * with planted violations.
 *
 * Soundness of the time-based checks: an ID received before another call was
 * *made* was issued before the second ID, whatever happened in between
 * (queueing, reconnects, a crash and restart). Inside one worker the order of
 * "received" and "made" is exact (a logical clock); across processes it uses
 * `Date.now()` ms and requires a gap of at least 2 ms, so a pair whose order
 * the clock cannot tell is skipped, never misjudged.
 */
import { SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT } from '@pharaoh/snowflake';
import type { HarnessEvent, RestoreEvent, SessionOpenEvent, WorkerEvent } from './events.js';
import type { ChaosPlugin, PluginEvent } from './services/plugin.js';

export interface Violation {
  check: string;
  detail: string;
}

/** One issue of IDs: `lo..hi` from one shard, with the call's times. */
export interface Issue {
  /** 'ts', 'tx', 'session' (the built-in services), or a plug-in's service name. */
  space: string;
  shard: number;
  lo: bigint;
  hi: bigint;
  w: number;
  s: number;
  r: number;
  ls: number;
  lr: number;
  what: string;
  /** False for IDs a client's `after` does not cover (commit timestamps): left out of the per-client order check. */
  clientOrdered?: boolean;
}

export interface CheckInput {
  events: WorkerEvent[];
  harness: HarnessEvent[];
  /** Process label hosting each shard, per ID space ('ts' → tso, 'tx' → txcoord, 'session' → session-mgr, a plug-in's service name → it). */
  owners: Record<string, Map<number, string>>;
  /** Status of each begun TxId after the run (or the error code of the query). */
  finalTx: Map<string, string>;
  /** validate(sessionId, epoch) after the run, keyed `${id}:${epoch}`. */
  finalSessions: Map<string, string>;
  /** The plug-in services in the run, their events (`svc` = service) and what each read back. */
  plugins?: Array<{ plugin: ChaosPlugin; events: PluginEvent[]; final: unknown }>;
}

export interface CheckStats {
  tsIds: number;
  txIds: number;
  sessionIds: number;
  orderedPairs: number;
  crossRestartChecks: number;
  clientOrderChecks: number;
  decisionsChecked: number;
  epochsChecked: number;
  /** Each plug-in's own counts, by service. */
  services: Record<string, Record<string, number>>;
}

/** Cross-process ordering needs this many ms between "received" and "made" (Date.now() floors to ms). */
export const CLOCK_GAP_MS = 2;
const MAX_REPORTED = 50;

/** Every ID issue the workers received, tagged with its space and shard. */
export function issuesOf(events: WorkerEvent[]): Issue[] {
  const out: Issue[] = [];
  const t = (e: { w: number; s: number; r: number; ls: number; lr: number }) => ({ w: e.w, s: e.s, r: e.r, ls: e.ls, lr: e.lr });
  for (const e of events) {
    if (e.k === 'ts') {
      const lo = BigInt(e.first);
      out.push({ space: 'ts', shard: TSO_LAYOUT.shardOf(lo), lo, hi: lo + BigInt(e.n) - 1n, ...t(e), what: `ts ${e.first}+${e.n}` });
    } else if (e.k === 'txb') {
      const id = BigInt(e.id);
      const st = BigInt(e.st);
      out.push({ space: 'tx', shard: TX_LAYOUT.shardOf(id), lo: id < st ? id : st, hi: id < st ? st : id, ...t(e), what: `txId ${e.id}/startTs ${e.st}` });
    } else if (e.k === 'txc') {
      const ct = BigInt(e.ct);
      out.push({ space: 'tx', shard: TX_LAYOUT.shardOf(ct), lo: ct, hi: ct, ...t(e), what: `commitTs ${e.ct} of ${e.id}`, clientOrdered: false });
    } else if (e.k === 'so' && e.p === undefined) {
      const id = BigInt(e.id);
      out.push({ space: 'session', shard: SESSION_LAYOUT.shardOf(id), lo: id, hi: id, ...t(e), what: `sessionId ${e.id}` });
    }
  }
  return out;
}

/** No ID issued twice: within each space, the issued ranges never overlap. */
export function checkUnique(issues: Issue[], v: Violation[]): void {
  for (const space of new Set(issues.map((i) => i.space))) {
    const list = issues.filter((i) => i.space === space).sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.lo <= list[i - 1]!.hi) {
        v.push({ check: 'unique', detail: `${space}: ${list[i]!.what} (worker ${list[i]!.w}) overlaps ${list[i - 1]!.what} (worker ${list[i - 1]!.w})` });
      }
    }
  }
}

/** Named sessions: one id per producer, never shared with another producer or an anonymous session. */
export function checkSessionIds(events: WorkerEvent[], v: Violation[]): number {
  const owner = new Map<string, string>();
  let n = 0;
  events.forEach((e, i) => {
    if (e.k !== 'so') return;
    const who = e.p ?? `anonymous#${i}`;
    const prev = owner.get(e.id);
    if (prev === undefined) {
      owner.set(e.id, who);
      n++;
    } else if (prev !== who) v.push({ check: 'unique', detail: `session: id ${e.id} given to ${prev} and to ${who}` });
  });
  return n;
}

/**
 * Per (space, shard): every issue is above every issue received before its
 * call was made. `received(a, b)` says whether a's answer certainly arrived
 * before b's call. Returns how many issues had a predecessor to compare with.
 */
function sweep(list: Issue[], gapMs: number, useLogical: boolean, check: string, v: Violation[]): number {
  const bySend = [...list].sort((a, b) => (useLogical ? a.ls - b.ls : a.s - b.s));
  const byRecv = [...list].sort((a, b) => (useLogical ? a.lr - b.lr : a.r - b.r));
  let j = 0;
  let max: Issue | undefined;
  let compared = 0;
  for (const b of bySend) {
    while (j < byRecv.length && (useLogical ? byRecv[j]!.lr < b.ls : byRecv[j]!.r + gapMs <= b.s)) {
      const a = byRecv[j++]!;
      if (!max || a.hi > max.hi) max = a;
    }
    if (!max) continue;
    compared++;
    if (b.lo <= max.hi && v.length < MAX_REPORTED * 4) {
      v.push({ check, detail: `${b.space} shard ${b.shard}: ${b.what} (worker ${b.w}, made at ${b.s}) is not above ${max.what} (worker ${max.w}, received at ${max.r})` });
    }
  }
  return compared;
}

function groupBy<K, T>(list: T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const t of list) (m.get(key(t)) ?? m.set(key(t), []).get(key(t))!).push(t);
  return m;
}

/** Per shard, IDs increase in real-time issue order, across every worker and every restart. */
export function checkShardOrder(issues: Issue[], v: Violation[]): number {
  let n = 0;
  for (const list of groupBy(issues, (i) => `${i.space}:${i.shard}`).values()) n += sweep(list, CLOCK_GAP_MS, false, 'shard-order', v);
  return n;
}

/** Each client's timestamps (and TxIds, anonymous SessionIds) increase across every shard and failover. */
export function checkClientOrder(issues: Issue[], v: Violation[]): number {
  let n = 0;
  // Commit timestamps are not "fresh IDs" of the client API: only begin and ts.get carry `after`.
  // For a begin, the client's `after` covers the TxId (not the startTs issued with it).
  const fresh = issues.filter((i) => i.clientOrdered !== false).map((i) => (i.space === 'tx' ? { ...i, hi: i.lo } : i));
  for (const list of groupBy(fresh, (i) => `${i.w}:${i.space}`).values()) n += sweep(list, 0, true, 'client-order', v);
  return n;
}

/**
 * Explicitly across every restart: for each kill of process L at tK and its
 * next start at tS, on each shard L hosts, every ID whose call was made after
 * tS is above every ID received before tK. (Implied by shard-order; counted
 * separately so the summary says how many crash boundaries were crossed.)
 */
export function checkCrossRestart(issues: Issue[], harness: HarnessEvent[], owners: CheckInput['owners'], v: Violation[]): number {
  const windows: Array<{ label: string; tK: number; tS: number }> = [];
  harness.forEach((e, i) => {
    if (e.k !== 'kill') return;
    const start = harness.slice(i + 1).find((x) => x.k === 'start' && x.label === e.label);
    if (start) windows.push({ label: e.label, tK: e.t, tS: start.t });
  });
  let checked = 0;
  for (const [key, list] of groupBy(issues, (i) => `${i.space}:${i.shard}`)) {
    const [space, shardText] = key.split(':') as [string, string];
    const label = owners[space]?.get(Number(shardText));
    for (const win of windows) {
      if (win.label !== label) continue;
      let before: Issue | undefined;
      let after: Issue | undefined;
      for (const i of list) {
        if (i.r + CLOCK_GAP_MS <= win.tK && (!before || i.hi > before.hi)) before = i;
        if (i.s >= win.tS + CLOCK_GAP_MS && (!after || i.lo < after.lo)) after = i;
      }
      if (!before || !after) continue;
      checked++;
      if (after.lo <= before.hi) {
        v.push({ check: 'cross-restart', detail: `${space} shard ${after.shard}: ${after.what} after the restart of ${label} at ${win.tS} is not above ${before.what} received before its kill at ${win.tK}` });
      }
    }
  }
  return checked;
}


/** The harness's restores of `service`, by shard (see actions.ts). */
export type Restores = Map<number, RestoreEvent[]>;
export function restoresOf(harness: HarnessEvent[], service: string): Restores {
  const out: Restores = new Map();
  for (const e of harness) if (e.k === 'restore' && e.service === service) for (const s of e.shards) out.set(s, [...(out.get(s) ?? []), e]);
  return out;
}

/**
 * Decisions survive: an acknowledged commit reads COMMITTED after the run, an
 * acknowledged abort ABORTED; a transaction nobody asked to commit is never
 * COMMITTED; one whose commit outcome is unknown is decided either way.
 * A restore loses what was decided after its backup, and answers IN_DOUBT for
 * it (never a presumed abort): IN_DOUBT is accepted only for a transaction of
 * a restored shard, begun before that restore, whose decision was not
 * certainly acknowledged before the backup began. Nothing else may change.
 */
export function checkDecisions(events: WorkerEvent[], finalTx: Map<string, string>, v: Violation[], restored: Restores = new Map()): number {
  const intent = new Map<string, 'commit' | 'abort'>();
  const begunAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const acked = new Map<string, 'COMMITTED' | 'ABORTED'>();
  const commitTs = new Map<string, string>();
  const begun: string[] = [];
  for (const e of events) {
    if (e.k === 'txb') {
      begun.push(e.id);
      begunAt.set(e.id, e.s);
    } else if (e.k === 'txi') intent.set(e.id, e.d);
    else if (e.k === 'txa') {
      acked.set(e.id, 'ABORTED');
      ackedAt.set(e.id, e.r);
    } else if (e.k === 'txc') {
      acked.set(e.id, 'COMMITTED');
      ackedAt.set(e.id, e.r);
      const prev = commitTs.get(e.id);
      if (prev !== undefined && prev !== e.ct) v.push({ check: 'decision', detail: `tx ${e.id} committed twice with different commitTs ${prev} and ${e.ct}` });
      commitTs.set(e.id, e.ct);
    }
  }
  let n = 0;
  for (const id of begun) {
    const got = finalTx.get(id);
    if (got === undefined) continue;
    n++;
    const want = acked.get(id);
    if (got === 'IN_DOUBT') {
      if (!mayBeInDoubt(id, begunAt.get(id), ackedAt.get(id), restored)) {
        v.push({ check: 'decision', detail: `tx ${id}: reads IN_DOUBT, but no restore of its shard can have lost its decision${want === undefined ? '' : ` (acknowledged ${want})`}` });
      }
      continue;
    }
    if (want !== undefined && got !== want) v.push({ check: 'decision', detail: `tx ${id}: acknowledged ${want}, reads ${got} after the run` });
    else if (want === undefined && intent.get(id) !== 'commit' && got === 'COMMITTED') {
      v.push({ check: 'decision', detail: `tx ${id}: nobody asked to commit it, yet it reads COMMITTED` });
    } else if (want === undefined && intent.get(id) === 'commit' && got !== 'COMMITTED' && got !== 'ABORTED') {
      v.push({ check: 'decision', detail: `tx ${id}: commit outcome unknown, reads ${got} after a full restart (expected COMMITTED or ABORTED)` });
    }
  }
  return n;
}

/** Lost by a restore of its shard: begun before the restore, not acknowledged certainly before the backup began. */
function mayBeInDoubt(id: string, begun: number | undefined, acked: number | undefined, restored: Restores): boolean {
  const list = restored.get(TX_LAYOUT.shardOf(BigInt(id))) ?? [];
  return list.some((r) => begun !== undefined && begun < r.t + CLOCK_GAP_MS && (acked === undefined || acked + CLOCK_GAP_MS > r.backupAt));
}

/**
 * Epochs survive and fencing holds: per named producer, acknowledged epochs
 * strictly increase on one session id; a validate made after a newer epoch was
 * acknowledged never says OK; after the run every older epoch is FENCED, and
 * the newest is OK unless a later open's outcome is unknown (then OK or FENCED).
 * Anonymous sessions stay OK.
 * A restore of the session's shard fences every epoch handed out before it
 * (and loses sessions opened after its backup): an epoch acknowledged before
 * a restore of its shard reads FENCED or UNKNOWN, and a producer's session id
 * may change across that restore; epochs still only go up.
 */
export function checkSessions(events: WorkerEvent[], finalSessions: Map<string, string>, v: Violation[], restored: Restores = new Map()): number {
  /** Acknowledged before a restore of its shard (so fenced or lost by it)? */
  // An answer received before the restored process started cannot have come from the restored state.
  const beforeRestore = (a: SessionOpenEvent): boolean => (restored.get(SESSION_LAYOUT.shardOf(BigInt(a.id))) ?? []).some((r) => a.r < r.tStart);
  /** A restore of the shard between the two acks? */
  const restoreBetween = (a: SessionOpenEvent, b: SessionOpenEvent): boolean => (restored.get(SESSION_LAYOUT.shardOf(BigInt(a.id))) ?? []).some((r) => a.r < r.tStart && r.tStart <= b.r);
  const byProducer = new Map<string, WorkerEvent[]>();
  for (const e of events) {
    if ((e.k === 'so' && e.p !== undefined) || e.k === 'soi') (byProducer.get(e.p!) ?? byProducer.set(e.p!, []).get(e.p!)!).push(e);
  }
  const latestAckAt = new Map<string, { ep: number; lr: number }>();
  let n = 0;
  for (const [p, list] of byProducer) {
    const acks = list.filter((e): e is SessionOpenEvent => e.k === 'so').sort((a, b) => a.lr - b.lr);
    for (let i = 1; i < acks.length; i++) {
      if (acks[i]!.ep <= acks[i - 1]!.ep) v.push({ check: 'epoch', detail: `producer ${p}: epoch ${acks[i]!.ep} acknowledged after epoch ${acks[i - 1]!.ep}` });
      if (acks[i]!.id !== acks[i - 1]!.id && !restoreBetween(acks[i - 1]!, acks[i]!)) v.push({ check: 'epoch', detail: `producer ${p}: session id changed from ${acks[i - 1]!.id} to ${acks[i]!.id}` });
    }
    const last = acks[acks.length - 1];
    if (!last) continue;
    latestAckAt.set(p, { ep: last.ep, lr: last.lr });
    const unknownAfter = list.indexOf(last) < list.length - 1;
    for (const a of acks) {
      const got = finalSessions.get(`${a.id}:${a.ep}`);
      if (got === undefined) continue;
      n++;
      const ok = beforeRestore(a) ? ['FENCED', 'UNKNOWN'] : a === last ? (unknownAfter ? ['OK', 'FENCED'] : ['OK']) : ['FENCED'];
      if (!ok.includes(got)) v.push({ check: 'epoch', detail: `producer ${p}: epoch ${a.ep} of ${a.id} reads ${got} after the run (expected ${ok.join(' or ')})` });
    }
  }
  checkValidates(events, v);
  for (const e of events) {
    if (e.k !== 'so' || e.p !== undefined) continue;
    const got = finalSessions.get(`${e.id}:${e.ep}`);
    if (got === undefined) continue;
    n++;
    if (beforeRestore(e) ? got !== 'FENCED' && got !== 'UNKNOWN' : got !== 'OK') v.push({ check: 'epoch', detail: `anonymous session ${e.id} epoch ${e.ep} reads ${got} after the run (expected OK)` });
  }
  return n;
}

/** A validate of an epoch made after a newer epoch of the same producer was acknowledged (same worker) must not be OK. */
function checkValidates(events: WorkerEvent[], v: Violation[]): void {
  const acks = new Map<string, SessionOpenEvent[]>();
  for (const e of events) if (e.k === 'so' && e.p !== undefined) (acks.get(`${e.w}:${e.id}`) ?? acks.set(`${e.w}:${e.id}`, []).get(`${e.w}:${e.id}`)!).push(e);
  for (const e of events) {
    if (e.k !== 'sv' || e.st !== 'OK') continue;
    const newer = (acks.get(`${e.w}:${e.id}`) ?? []).find((a) => a.ep > e.ep && a.lr < e.ls);
    if (newer) v.push({ check: 'fencing', detail: `session ${e.id} epoch ${e.ep} validated OK after epoch ${newer.ep} was acknowledged` });
  }
}

export interface CheckResult {
  violations: Violation[];
  stats: CheckStats;
}

/** Run every check: the shared ID checks over the built-in and the plug-ins' IDs, then each plug-in's own. */
export function runChecks(input: CheckInput): CheckResult {
  const v: Violation[] = [];
  const plugins = input.plugins ?? [];
  const issues = [...issuesOf(input.events), ...plugins.flatMap((p) => p.plugin.issues?.(p.events) ?? [])];
  checkUnique(issues, v);
  const sessionIds = checkSessionIds(input.events, v);
  const orderedPairs = checkShardOrder(issues, v);
  const clientOrderChecks = checkClientOrder(issues, v);
  const crossRestartChecks = checkCrossRestart(issues, input.harness, input.owners, v);
  const decisionsChecked = checkDecisions(input.events, input.finalTx, v, restoresOf(input.harness, 'txcoord'));
  const epochsChecked = checkSessions(input.events, input.finalSessions, v, restoresOf(input.harness, 'session-mgr'));
  const services: Record<string, Record<string, number>> = {};
  for (const p of plugins) {
    const counts = p.plugin.check({ events: p.events, harness: input.harness, owners: input.owners[p.plugin.service] ?? new Map(), final: p.final, violations: v });
    const ids = issues.filter((i) => i.space === p.plugin.service).reduce((a, i) => a + Number(i.hi - i.lo + 1n), 0);
    services[p.plugin.service] = { 'IDs checked': ids, ...counts };
  }
  let tsIds = 0;
  let txIds = 0;
  for (const i of issues) {
    if (i.space === 'ts') tsIds += Number(i.hi - i.lo + 1n);
    else if (i.space === 'tx') txIds += i.lo === i.hi ? 1 : 2;
  }
  return {
    violations: v,
    stats: { tsIds, txIds, sessionIds, orderedPairs, crossRestartChecks, clientOrderChecks, decisionsChecked, epochsChecked, services },
  };
}
