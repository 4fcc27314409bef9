/**
 * group-coord in the crash test. Each worker loop owns one consumer group
 * (a key of its own, so its answers are in real-time order in the log) and
 * plays MEMBERS of its members (client-chosen member ids): a rebalance round
 * (all join, the coordinator's `range` assignment is synced), heartbeats,
 * offset commits (per partition strictly increasing offsets), commits with
 * an old generation on purpose, and a leader rejoin now and then (a new
 * generation).
 *
 * Checks, per group, in the loop's order:
 * - `group-generation`: no generation is answered below one answered before
 *   (generations never go back or get reissued, across kills and restarts);
 * - `group-fenced`: a commit with a generation below one answered before it
 *   started is refused (stale generations stay fenced);
 * - `group-commit-lost`: after the final crash and restart, each partition
 *   reads at least the highest offset whose commit was acknowledged.
 */
import type { PharaohClient } from '@pharaoh/client';
import { ask, type ChaosPlugin, type CheckContext, type PluginEvent, type StepContext } from './plugin.js';

const MEMBERS = 2;
const PARTITIONS = 4;
const TOPIC = 'chaos';
/** Generous: a loop may stall through kills and restarts without losing its members. */
const SESSION_TIMEOUT_MS = 30_000;
const REBALANCE_TIMEOUT_MS = 10_000;
/** Join / sync calls per member before a round gives up (each answers within the server's join wait, 1.5 s). */
const MAX_POLLS = 8;
const PROTOCOLS = [{ name: 'range', metadata: new TextEncoder().encode(JSON.stringify({ topics: { [TOPIC]: PARTITIONS } })) }];

interface LoopState {
  group: string;
  members: string[];
  /** Current generation (0 = must rebalance), and every generation answered so far. */
  generation: number;
  seen: number[];
  nextOffset: number;
}

const loops = new Map<string, LoopState>();

function stateOf(ctx: StepContext): LoopState {
  const key = `${ctx.w}/${ctx.loop}`;
  let s = loops.get(key);
  if (s === undefined) {
    const group = ctx.servedKey(`chaos-group-${ctx.w}-${ctx.loop}`);
    s = { group, members: Array.from({ length: MEMBERS }, (_, i) => `${group}-m${i}`), generation: 0, seen: [], nextOffset: 1 };
    loops.set(key, s);
  }
  return s;
}

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? 'ERROR';
const MUST_REJOIN = ['GROUP_REBALANCE_IN_PROGRESS', 'GROUP_ILLEGAL_GENERATION', 'GROUP_UNKNOWN_MEMBER'];

/**
 * Every member joins, in rounds until all answers name one generation (a
 * member answered while another still waits joins again, as a Kafka client
 * does when its heartbeat says REBALANCE_IN_PROGRESS: the first join of a new
 * group forms a generation of one, the second starts the next rebalance),
 * then syncs: one event per generation answered, the agreed one last.
 */
async function rebalance(ctx: StepContext, s: LoopState): Promise<void> {
  const t = ctx.timed();
  const groups = ctx.client.groups;
  try {
    const answered = new Set<number>();
    let joins: Array<number | undefined> = [];
    for (let i = 0; i < MAX_POLLS && !ctx.stopping(); i++) {
      joins = await Promise.all(
        s.members.map(async (m) => {
          const j = await groups.join(s.group, { memberId: m, protocols: PROTOCOLS, sessionTimeoutMs: SESSION_TIMEOUT_MS, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS });
          if (j.status !== 'JOINED') return undefined;
          answered.add(j.generation);
          return j.generation;
        }),
      );
      if (new Set(joins).size === 1 && joins[0] !== undefined) break;
    }
    const gens = [...new Set(joins)];
    if (gens.length !== 1 || gens[0] === undefined) {
      // Answers that disagree are possible when a member's join straddled two rebalances; log each, in order (they were concurrent).
      for (const g of [...answered].sort((a, b) => a - b)) ctx.log({ ...ctx.done(t, { k: 'grj', g: s.group, gen: g }) });
      s.generation = 0;
      return;
    }
    for (const g of [...answered].filter((x) => x !== gens[0]).sort((a, b) => a - b)) ctx.log({ ...ctx.done(t, { k: 'grj', g: s.group, gen: g }) });
    const gen = gens[0];
    ctx.log({ ...ctx.done(t, { k: 'grj', g: s.group, gen }) });
    s.seen.push(gen);
    s.generation = gen;
    for (const m of s.members) {
      const r = await groups.sync(s.group, { memberId: m, generation: gen });
      if (r.status !== 'ASSIGNED') s.generation = 0;
    }
  } catch (err) {
    s.generation = 0;
    await ctx.fail('group.join', err);
  }
}

async function commit(ctx: StepContext, s: LoopState, generation: number, stale: boolean): Promise<void> {
  const p = Math.floor(ctx.rnd() * PARTITIONS);
  const offset = s.nextOffset++;
  const member = s.members[Math.floor(ctx.rnd() * s.members.length)]!;
  const t = ctx.timed();
  try {
    await ctx.client.groups.commitOffsets(s.group, { memberId: member, generation }, [{ topic: TOPIC, partition: p, offset }]);
    ctx.log({ ...ctx.done(t, { k: 'grc', g: s.group, gen: generation, p, o: offset, ok: true, stale }) });
  } catch (err) {
    const code = codeOf(err);
    if (MUST_REJOIN.includes(code)) {
      ctx.log({ ...ctx.done(t, { k: 'grc', g: s.group, gen: generation, p, o: offset, ok: false, code, stale }) });
      if (!stale) s.generation = 0;
      return;
    }
    await ctx.fail('group.commitOffsets', err);
  }
}

async function heartbeat(ctx: StepContext, s: LoopState): Promise<void> {
  try {
    for (const m of s.members) await ctx.client.groups.heartbeat(s.group, { memberId: m, generation: s.generation });
  } catch (err) {
    if (MUST_REJOIN.includes(codeOf(err))) s.generation = 0;
    else await ctx.fail('group.heartbeat', err);
  }
}

async function step(ctx: StepContext): Promise<void> {
  const s = stateOf(ctx);
  if (s.generation === 0) return rebalance(ctx, s);
  const x = ctx.rnd();
  if (x < 0.5) return commit(ctx, s, s.generation, false);
  if (x < 0.75) return heartbeat(ctx, s);
  const older = s.seen.filter((g) => g < s.generation);
  if (x < 0.9 && older.length > 0) return commit(ctx, s, older[Math.floor(ctx.rnd() * older.length)]!, true);
  // The leader joining again in a stable group starts a new generation.
  return rebalance(ctx, s);
}

type Final = Map<string, Map<number, number> | string>;

async function readBack(client: PharaohClient, events: PluginEvent[]): Promise<Final> {
  const out: Final = new Map();
  for (const g of new Set(events.filter((e) => e.k === 'grc').map((e) => e.g as string))) {
    const r = await ask(() => client.groups.fetchOffsets(g));
    out.set(g, 'error' in r ? r.error : new Map(r.map((o) => [o.partition, o.offset])));
  }
  return out;
}

function check({ events, final, violations }: CheckContext<Final>): Record<string, number> {
  const byGroup = new Map<string, PluginEvent[]>();
  for (const e of events) (byGroup.get(e.g as string) ?? byGroup.set(e.g as string, []).get(e.g as string)!).push(e);
  let generations = 0;
  let staleTried = 0;
  let acked = 0;
  for (const [g, list] of byGroup) {
    let high = 0;
    const best = new Map<number, number>();
    for (const e of list) {
      const gen = e.gen as number;
      if (e.k === 'grj') {
        generations++;
        if (gen < high) violations.push({ check: 'group-generation', detail: `group ${g}: generation ${gen} answered after ${high}` });
        high = Math.max(high, gen);
      } else if (e.k === 'grc') {
        if (gen < high) staleTried++;
        if (e.ok === true && gen < high) violations.push({ check: 'group-fenced', detail: `group ${g}: a commit with generation ${gen} was accepted after generation ${high} was answered` });
        if (e.ok === true) {
          acked++;
          best.set(e.p as number, Math.max(best.get(e.p as number) ?? -1, e.o as number));
        }
      }
    }
    const read = final?.get(g);
    if (best.size > 0 && !(read instanceof Map)) {
      violations.push({ check: 'group-commit-lost', detail: `group ${g}: offsets not read back (${String(read)})` });
      continue;
    }
    for (const [p, o] of best) {
      const got = (read as Map<number, number>).get(p);
      if (got === undefined || got < o) violations.push({ check: 'group-commit-lost', detail: `group ${g} partition ${p}: reads ${got}, offset ${o} was acknowledged` });
    }
  }
  return { groups: byGroup.size, 'generations answered': generations, 'stale commits tried': staleTried, 'commits acknowledged': acked };
}

export const groupCoordPlugin: ChaosPlugin<Final> = { service: 'group-coord', weight: 0.05, step, readBack, check };

/**
 * One loop's calls for other drivers of this plug-in (the power-cut model in
 * tools/powercut, which checks after every restart): they log the step's own
 * events, so `check` judges them like the rest.
 */
export const groupCalls = {
  /** The loop's group. */
  group: (ctx: StepContext): string => stateOf(ctx).group,
  /** Rebalance the loop's group now (all its members join, then sync). */
  rebalance: (ctx: StepContext): Promise<void> => rebalance(ctx, stateOf(ctx)),
  /**
   * Commit with the generation answered just before the newest one: it must be
   * refused (fenced). Accepted, it says the newest generation was lost. False
   * if the loop has no such generation.
   */
  async commitStale(ctx: StepContext): Promise<boolean> {
    const s = stateOf(ctx);
    const newest = Math.max(...s.seen);
    const older = s.seen.filter((g) => g < newest);
    if (older.length === 0) return false;
    await commit(ctx, s, Math.max(...older), true);
    return true;
  },
};
