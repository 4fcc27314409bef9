/**
 * The checks made over everything the clients received, whatever the scenario:
 *
 * - `duplicate`: an ID (per service) handed out twice, to any two calls of any clients;
 * - `order`: a call of one client got an ID not above every ID of that service
 *   the client had received before the call started (the client's monotonicity;
 *   it implies no regression within a shard);
 * - `hang`: a call took longer than its budget (timeoutMs per client call, a
 *   begin + commit two of them) plus HANG_SLACK_MS — a caller must get an answer or a typed error;
 * - `untyped`: a caller saw an error without a stable `code`;
 * - `refused`: a well-formed call got an error that says the client or the
 *   server is wrong, not the network (CONTRACT_CODES): BAD_REQUEST above all —
 *   e.g. an `after` taken from the fleet's own IDs refused as too far ahead.
 *   One violation per client, loop and code, with the count and the first message;
 * - `epoch`: a named producer opened again got an epoch not above its previous one;
 * - `lost-commit`, `commit-ts`, `epoch-lost`, `fence`, `unavailable`: from each worker's read-back at its end;
 * - `worker`: a client process failed.
 */
import type { CallEvent, WorkerEvent } from './events.js';

/** How much later than its budget an answer may come before the call counts as hung (a loaded 2-core machine). */
export const HANG_SLACK_MS = 1_500;

/**
 * Codes no call of a worker may ever get: its calls are well formed, so these
 * mean a bug in the client or the server (docs/PROTOCOL.md: no well-formed
 * call gets BAD_REQUEST; INTERNAL is a server bug). Network faults give
 * TIMEOUT, CONNECTION_LOST, SHARD_UNAVAILABLE and the like instead.
 */
export const CONTRACT_CODES: ReadonlySet<string> = new Set(['BAD_REQUEST', 'UNKNOWN_OP', 'FORBIDDEN', 'INTERNAL', 'INVALID_ARGUMENT', 'PROTOCOL_VIOLATION']);

export interface Violation {
  kind: string;
  client: string;
  detail: string;
}

/** The service of a worker loop's IDs. */
export function serviceOfLoop(loop: string): 'tso' | 'txcoord' | 'session-mgr' {
  return loop === 'tx' ? 'txcoord' : loop === 'sess' || loop === 'prod' ? 'session-mgr' : 'tso';
}

/** Calls a loop makes per iteration (the budget of one iteration is this many timeouts). */
function callsPerIteration(loop: string): number {
  return loop === 'tx' ? 2 : 1;
}

export interface CheckTotals {
  calls: number;
  ok: number;
  errors: number;
  ids: number;
}

/** Check every client's events; `clients` maps a client name to its events. */
export function checkAll(clients: ReadonlyMap<string, readonly WorkerEvent[]>, timeoutMs: number): { violations: Violation[]; totals: CheckTotals } {
  const violations: Violation[] = [];
  const totals: CheckTotals = { calls: 0, ok: 0, errors: 0, ids: 0 };
  const seen = new Map<string, string>();
  for (const [client, events] of clients) {
    const calls = events.filter((e): e is CallEvent => e.e === 'call');
    violations.push(...checkRefused(client, calls));
    for (const c of calls) {
      totals.calls++;
      const budget = timeoutMs * callsPerIteration(c.l) + HANG_SLACK_MS;
      if (c.t1 - c.t0 > budget) violations.push({ kind: 'hang', client, detail: `${c.l} call took ${Math.round(c.t1 - c.t0)} ms (budget ${budget} ms)` });
      if (!c.ok) {
        totals.errors++;
        if (c.code === undefined || c.code.startsWith('UNTYPED:')) violations.push({ kind: 'untyped', client, detail: `${c.l}: ${c.code} ${c.msg}` });
        continue;
      }
      totals.ok++;
      if (c.id === undefined) continue;
      totals.ids++;
      const key = `${serviceOfLoop(c.l)}:${c.id}`;
      const prev = seen.get(key);
      if (prev !== undefined) violations.push({ kind: 'duplicate', client, detail: `${key} (shard ${c.shard}) handed out to ${prev} and to ${client} (${c.l})` });
      else seen.set(key, `${client} (${c.l})`);
    }
    violations.push(...checkEpochs(client, calls.filter((c) => c.ok && c.producer !== undefined)));
    for (const service of ['tso', 'txcoord', 'session-mgr'] as const) {
      violations.push(...checkOrder(client, calls.filter((c) => c.ok && c.id !== undefined && serviceOfLoop(c.l) === service)));
    }
    for (const e of events) {
      if (e.e === 'verify') for (const v of e.violations) violations.push({ kind: v.split(':')[0]!, client, detail: v });
      if (e.e === 'fatal') violations.push({ kind: 'worker', client, detail: `${e.code}: ${e.msg}` });
    }
  }
  return { violations, totals };
}

/**
 * Every successful call must return an ID above the largest ID among the calls
 * that had returned (t1) before it started (t0). A sweep over both orders.
 */
export function checkOrder(client: string, calls: readonly CallEvent[]): Violation[] {
  const out: Violation[] = [];
  const byEnd = [...calls].sort((a, b) => a.t1 - b.t1);
  const byStart = [...calls].sort((a, b) => a.t0 - b.t0);
  let j = 0;
  let max = -1n;
  let maxCall: CallEvent | undefined;
  for (const c of byStart) {
    while (j < byEnd.length && byEnd[j]!.t1 < c.t0) {
      const id = BigInt(byEnd[j]!.id as string);
      if (id > max) {
        max = id;
        maxCall = byEnd[j];
      }
      j++;
    }
    const id = BigInt(c.id as string);
    if (maxCall !== undefined && id <= max) {
      out.push({ kind: 'order', client, detail: `${c.l} got ${id} (shard ${c.shard}) after ${maxCall.l} had got ${max} (shard ${maxCall.shard})` });
    }
  }
  return out;
}

/** Each producer's acknowledged opens, in the order they were made (one loop: sequential), must get increasing epochs. */
export function checkEpochs(client: string, opens: readonly CallEvent[]): Violation[] {
  const out: Violation[] = [];
  const last = new Map<string, number>();
  for (const c of [...opens].sort((a, b) => a.t0 - b.t0)) {
    const prev = last.get(c.producer!);
    if (prev !== undefined && c.epoch! <= prev) out.push({ kind: 'epoch', client, detail: `${c.producer} opened again got epoch ${c.epoch}, not above ${prev}` });
    last.set(c.producer!, c.epoch!);
  }
  return out;
}

/** CONTRACT_CODES errors, one violation per loop and code: how many, when the first came, and its message. */
export function checkRefused(client: string, calls: readonly CallEvent[]): Violation[] {
  const byKey = new Map<string, { first: CallEvent; n: number }>();
  for (const c of calls) {
    if (c.ok || c.code === undefined || !CONTRACT_CODES.has(c.code)) continue;
    const key = `${c.l} ${c.code}`;
    const e = byKey.get(key);
    if (e === undefined) byKey.set(key, { first: c, n: 1 });
    else e.n++;
  }
  return [...byKey.values()].map(({ first, n }) => ({
    kind: 'refused',
    client,
    detail: `${first.l}: ${first.code} ×${n}, the first at t=${Math.round(first.t1)}: ${first.msg ?? '(no message)'}`,
  }));
}
