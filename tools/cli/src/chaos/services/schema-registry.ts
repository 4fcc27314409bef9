/**
 * schema-registry in the crash test. Each worker loop owns two subjects (its
 * own keys, so its answers are ordered) and registers schemas R0, R1, … in
 * turn, often registering an earlier one again (sent pretty-printed: the
 * same canonical form), and reads ids back during the run.
 *
 * Checks (fault model: the harness's SIGKILLs, restarts and moves, and the
 * final crash and restart of every process):
 * - shared: a schema id answered for a schema's first registration is a
 *   fresh ID (unique, per shard increasing in real time, above every id
 *   received before a kill of its owner); repeats and retries return old ids
 *   and are left out of those order checks;
 * - `schema-same`: one (subject, schema) always answers one (id, version);
 * - `schema-id`: an id never names two (subject, schema) pairs, and a read
 *   of an id answers what its registration did;
 * - `schema-version`: a version of a subject never names two schemas, and a
 *   schema first registered after another one's acknowledgement has a higher
 *   version;
 * - `schema-lost`: every acknowledged registration reads back after the run
 *   (by id, and in its subject's version list).
 */
import type { PharaohClient } from '@pharaoh/client';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import type { Issue, Violation } from '../check.js';
import { ask, pool, type ChaosPlugin, type PluginEvent, type StepContext } from './plugin.js';

const SERVICE = 'schema-registry';
/** A loop's subjects: few, so repeats and version lists stay short. */
const SUBJECTS_PER_LOOP = 2;
/** Of a loop's schema steps: register an earlier schema again / read an id back; the rest register the next schema. */
const REPEAT = 0.35;
const READ = 0.15;

/** The text of schema `n` of `subject`; `pretty` spells the same canonical form differently. */
function schemaText(subject: string, n: number, pretty: boolean): string {
  return JSON.stringify({ type: 'record', name: `R${n}`, namespace: subject.replace(/[^A-Za-z0-9]/g, '_'), fields: [{ name: 'id', type: 'long' }] }, null, pretty ? 2 : 0);
}

/** One loop's registrations: schemas sent at least once, and the next to send. */
interface LoopState {
  subjects: string[];
  next: number[];
  acked: Array<{ subj: string; n: number; id: string }>;
}
const loops = new Map<string, LoopState>();

function stateOf(ctx: StepContext): LoopState {
  const key = `${ctx.w}/${ctx.loop}`;
  let s = loops.get(key);
  if (s === undefined) {
    const subjects = Array.from({ length: SUBJECTS_PER_LOOP }, (_, j) => ctx.servedKey(`chaos-schema-w${ctx.w}-l${ctx.loop}-s${j}`));
    s = { subjects, next: subjects.map(() => 0), acked: [] };
    loops.set(key, s);
  }
  return s;
}

async function register(ctx: StepContext, st: LoopState, j: number, n: number, fresh: boolean, pretty: boolean): Promise<void> {
  const subj = st.subjects[j]!;
  const t = ctx.timed();
  try {
    const r = await ctx.client.schemas.register(subj, schemaText(subj, n, pretty), 'AVRO');
    ctx.log({ ...ctx.done(t, { subj, n, id: String(r.schemaId), v: r.version, fresh }), k: 'schr' });
    st.acked.push({ subj, n, id: String(r.schemaId) });
  } catch (err) {
    await ctx.fail('schema.register', err);
  }
}

async function step(ctx: StepContext): Promise<void> {
  const st = stateOf(ctx);
  const x = ctx.rnd();
  const old = st.acked[Math.floor(ctx.rnd() * st.acked.length)];
  if (x < READ && old !== undefined) {
    const t = ctx.timed();
    try {
      const r = await ctx.client.schemas.get(BigInt(old.id));
      ctx.log({ ...ctx.done(t, { id: old.id, subj: r.subject, v: r.version, name: (JSON.parse(r.schema) as { name?: string }).name ?? '' }), k: 'schg' });
    } catch (err) {
      await ctx.fail('schema.get', err);
    }
    return;
  }
  if (x < READ + REPEAT && old !== undefined) return register(ctx, st, st.subjects.indexOf(old.subj), old.n, false, ctx.rnd() < 0.5);
  const j = Math.floor(ctx.rnd() * st.subjects.length);
  const n = st.next[j]!++;
  // Fresh: this schema was never sent, so the server issues it a new id (a retry after a failed call may find the first one).
  return register(ctx, st, j, n, true, false);
}

interface Reg {
  subj: string;
  n: number;
  id: string;
  v: number;
  fresh: boolean;
  w: number;
  s: number;
  r: number;
  ls: number;
  lr: number;
}

const regsOf = (events: PluginEvent[]): Reg[] => events.filter((e) => e.k === 'schr') as unknown as Reg[];

/** After the run: every registered id read back, and every subject's versions. */
interface SchemaFinal {
  byId: Map<string, { subject: string; version: number; schema: string } | { error: string }>;
  versions: Map<string, Array<{ version: number; schemaId: string }> | { error: string }>;
}

async function readBack(client: PharaohClient, events: PluginEvent[]): Promise<SchemaFinal> {
  const regs = regsOf(events);
  const byId: SchemaFinal['byId'] = new Map();
  const versions: SchemaFinal['versions'] = new Map();
  await pool([...new Set(regs.map((r) => r.id))], async (id) => {
    const r = await ask(() => client.schemas.get(BigInt(id)));
    byId.set(id, 'error' in r ? r : { subject: r.subject, version: r.version, schema: r.schema });
  });
  await pool([...new Set(regs.map((r) => r.subj))], async (subj) => {
    const r = await ask(() => client.schemas.versions(subj));
    versions.set(subj, 'error' in r ? r : r.map((v) => ({ version: v.version, schemaId: String(v.schemaId) })));
  });
  return { byId, versions };
}

function check({ events, final, violations }: { events: PluginEvent[]; final: SchemaFinal | undefined; violations: Violation[] }): Record<string, number> {
  const regs = regsOf(events);
  const bySchema = new Map<string, Reg>();
  const byId = new Map<string, Reg>();
  const byVersion = new Map<string, Reg>();
  const bad = (c: string, detail: string) => violations.push({ check: c, detail });
  for (const r of regs) {
    const key = `${r.subj} R${r.n}`;
    const same = bySchema.get(key);
    if (same !== undefined && (same.id !== r.id || same.v !== r.v)) bad('schema-same', `${key} answered id ${same.id} v${same.v}, later id ${r.id} v${r.v}`);
    const owner = byId.get(r.id);
    if (owner !== undefined && (owner.subj !== r.subj || owner.n !== r.n)) bad('schema-id', `id ${r.id} names ${owner.subj} R${owner.n} and ${key}`);
    const named = byVersion.get(`${r.subj} v${r.v}`);
    if (named !== undefined && named.n !== r.n) bad('schema-version', `${r.subj} v${r.v} names R${named.n} and R${r.n}`);
    bySchema.set(key, same ?? r);
    byId.set(r.id, owner ?? r);
    byVersion.set(`${r.subj} v${r.v}`, named ?? r);
  }
  // A subject is its loop's alone, registered one call at a time: along the first registrations its versions must rise.
  const last = new Map<string, Reg>();
  for (const b of regs.filter((r) => r.fresh).sort((x, y) => x.s - y.s)) {
    const a = last.get(b.subj);
    if (a !== undefined && a.r < b.s && a.v >= b.v) bad('schema-version', `${b.subj} R${b.n} got v${b.v}, not above v${a.v} of R${a.n} acknowledged before`);
    last.set(b.subj, b);
  }
  for (const e of events.filter((x) => x.k === 'schg')) {
    const r = byId.get(e.id as string);
    if (r !== undefined && (r.subj !== e.subj || r.v !== e.v || `R${r.n}` !== e.name)) bad('schema-id', `id ${String(e.id)} read as ${String(e.subj)} v${String(e.v)} ${String(e.name)}, registered as ${r.subj} R${r.n} v${r.v}`);
  }
  let readBackCount = 0;
  if (final !== undefined) {
    for (const r of bySchema.values()) {
      const got = final.byId.get(r.id);
      const listed = final.versions.get(r.subj);
      if (got === undefined || 'error' in got) bad('schema-lost', `${r.subj} R${r.n} (id ${r.id} v${r.v}) does not read back: ${got === undefined ? 'not asked' : got.error}`);
      else if (got.subject !== r.subj || got.version !== r.v || (JSON.parse(got.schema) as { name?: string }).name !== `R${r.n}`) {
        bad('schema-lost', `id ${r.id} reads back as ${got.subject} v${got.version}, registered as ${r.subj} R${r.n} v${r.v}`);
      } else readBackCount++;
      if (listed === undefined || 'error' in listed || !listed.some((x) => x.schemaId === r.id && x.version === r.v)) {
        bad('schema-lost', `${r.subj} v${r.v} (id ${r.id}) is missing from the subject's versions after the run`);
      }
    }
  }
  return { registrations: regs.length, schemas: bySchema.size, repeats: regs.filter((r) => !r.fresh).length, 'read back': readBackCount };
}

export const schemaRegistryPlugin: ChaosPlugin<SchemaFinal> = {
  service: SERVICE,
  weight: 0.08,
  step,
  // Only first registrations carry fresh ids: a repeat (or a retry of a call whose answer was lost) returns an old one.
  issues: (events): Issue[] =>
    regsOf(events)
      .filter((r) => r.fresh)
      .map((r) => {
        const id = BigInt(r.id);
        return { space: SERVICE, shard: SCHEMA_LAYOUT.shardOf(id), lo: id, hi: id, w: r.w, s: r.s, r: r.r, ls: r.ls, lr: r.lr, what: `schema id of ${r.subj} R${r.n}`, clientOrdered: false };
      }),
  readBack,
  check,
};

/**
 * One loop's calls for other drivers of this plug-in (the power-cut model in
 * tools/powercut, which checks after every restart): they log the step's own
 * events, so `check` judges them like the rest.
 */
export const schemaCalls = {
  /** Register the next schema of each of the loop's subjects: fresh ids, versions above the acknowledged ones. */
  async registerNext(ctx: StepContext): Promise<void> {
    const st = stateOf(ctx);
    for (let j = 0; j < st.subjects.length; j++) await register(ctx, st, j, st.next[j]!++, true, false);
  },
  /** Register again (either spelling) up to `max` of the loop's acknowledged schemas: each must answer its id and version. */
  async registerAgain(ctx: StepContext, max: number): Promise<void> {
    const st = stateOf(ctx);
    const known = [...new Map(st.acked.map((a) => [`${a.subj} R${a.n}`, a])).values()];
    for (let i = 0; i < max && known.length > 0; i++) {
      const a = known.splice(Math.floor(ctx.rnd() * known.length), 1)[0]!;
      await register(ctx, st, st.subjects.indexOf(a.subj), a.n, false, ctx.rnd() < 0.5);
    }
  },
};
