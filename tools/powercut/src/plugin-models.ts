/**
 * Power-cut models of group-coord, schema-registry and the sequencer, built on
 * the crash test's plug-ins for them (`@pharaoh/cli/chaos`): one mechanism per
 * job. The load is the plug-in's own step, run by a few loops, each loop's
 * keys its own; every answer is an event of the plug-in's log (a logical
 * clock orders calls, so every pair of answers is ordered exactly). After
 * every restart the model asks what the plug-in needs asked (below), then runs
 * over the whole history, since the volume's first start, the crash test's own
 * checks: the shared ID checks (never issued twice, per shard strictly
 * increasing, above every ID received before a kill or cut) and the plug-in's
 * `check`. A violation is reported once (the checks see the whole history
 * every time).
 *
 * Fault model: process death (SIGKILL, page cache intact) and power loss (only
 * what reached the device), each alone and chained. What is asked:
 *
 * | service | after a kill (read only) | after a power cut |
 * |---|---|---|
 * | group-coord | every group's committed offsets (`fetchOffsets`: never below the highest acknowledged commit of a partition); a commit with the generation before the newest acknowledged one (refused: writes nothing; accepted = the newest one was lost) | the same, then every group rebalances: the new generation must be strictly above every generation acknowledged before the cut, and a commit with the previous newest one is refused |
 * | schema-registry | every registered id read back (`schema.get`: same subject, version, schema) and every subject's versions list (holds each acknowledged version with its id) | the same, then schemas registered again (same id and version) and one new schema per subject (a fresh id above the shard's, a version above the subject's) |
 * | sequencer | — (`cdc.next` and `offsets.assign` both write: nothing is asked) | one call on every table and partition: a table's id above its acknowledged ones (and the shard's), a partition's first offset exactly at the end of its last acknowledged range plus the counts of some of the calls left without an answer (dense) |
 *
 * The history checks themselves (`group-generation`, `group-fenced`,
 * `group-commit-lost`, `schema-*`, `offsets-*`, `cdc-table-order`) are the
 * plug-ins', documented in tools/cli/src/chaos/services/*.ts. The sequencer's
 * is given no harness kills: in the crash test a kill excuses a hole (a retry
 * inside the client after a lost connection may take a range twice); here the
 * load's client is closed before the server is restarted, so nothing is
 * retried across a kill or cut and every hole must be a failed call's range.
 */
import type { PharaohClient } from '@pharaoh/client';
import type { ServiceName } from '@pharaoh/registry';
import {
  CLOCK_GAP_MS,
  checkCrossRestart,
  checkShardOrder,
  checkUnique,
  groupCalls,
  groupCoordPlugin,
  schemaCalls,
  schemaRegistryPlugin,
  sequencerPlugin,
  servedKey,
  takeEach,
  type ChaosPlugin,
  type HarnessEvent,
  type Issue,
  type PluginEvent,
  type StepContext,
  type Violation,
} from '@pharaoh/cli/chaos';
import { VIOLATION_KINDS, type Phase, type ViolationKind } from './history.js';
import type { ModelContext, ServiceModel } from './models.js';
import { describeError, mapLimit, sample, sleep } from './util.js';

/** The crash test's shared ID checks under powercut's names for them. */
const SHARED_CHECKS: Record<string, ViolationKind> = { unique: 'duplicate', 'shard-order': 'order', 'cross-restart': 'order' };

function kindOf(check: string): ViolationKind {
  return SHARED_CHECKS[check] ?? (check in VIOLATION_KINDS ? (check as ViolationKind) : 'invariant');
}

/** The one process that hosts every shard (the crash test's owner label). */
const SERVER = 'server';
const PAUSE_AFTER_ERROR_MS = 20;
const CHECK_CONCURRENCY = 16;
/** Loop numbers of the checks' own context (the sequencer's `takeEach`): above every load loop's. */
const CHECK_LOOP = 1000;
/** Each model's loops get worker numbers of their own, so a plug-in's per-loop state and keys are never shared with an earlier model (a fresh volume). */
let nextWorker = 0;

type Final = unknown;

abstract class PluginModel implements ServiceModel {
  protected readonly events: PluginEvent[] = [];
  private readonly harness: HarnessEvent[] = [];
  private readonly owners: Map<number, string>;
  private readonly reported = new Set<string>();
  private readonly keys = new Map<string, string>();
  private readonly w = nextWorker++;
  private clock = 0;
  /** Events already counted as IDs (`counters.ids`). */
  private counted = 0;
  /** Failed calls of the check in progress (reported as `unavailable`, the first few one by one). */
  private checkFailures = 0;

  protected abstract readonly plugin: ChaosPlugin;
  protected abstract readonly loops: number;

  constructor(protected readonly ctx: ModelContext) {
    this.owners = new Map(ctx.shards.map((s) => [s, SERVER]));
  }

  /** Logical time, in steps of the crash test's clock gap: `a.r + gap <= b.s` exactly when a's answer came before b was made. */
  private tick(): number {
    return (this.clock += CLOCK_GAP_MS);
  }

  /** A step context for loop `loop`; `checking`: a failed call is reported (a check after a restart), else it is part of the load. */
  protected stepContext(client: PharaohClient, loop: number, stopping: () => boolean, checking: string | undefined): StepContext {
    const shards = this.ctx.shards.length;
    return {
      client,
      w: this.w,
      loop,
      rnd: this.ctx.rnd,
      shards,
      servedKey: (base) => this.keys.get(base) ?? this.keys.set(base, servedKey(base, shards)).get(base)!,
      log: (e) => void this.events.push({ ...e, svc: this.plugin.service, w: this.w }),
      timed: () => {
        const t = this.tick();
        return { w: this.w, s: t, ls: t };
      },
      done: (start, rest) => {
        const t = this.tick();
        return { ...rest, ...start, r: t, lr: t };
      },
      fail: async (op, err) => {
        if (checking !== undefined) {
          if (++this.checkFailures <= 5) this.ctx.report('unavailable', `${op} ${checking}: ${describeError(err)}`);
          return;
        }
        if (!stopping()) await sleep(PAUSE_AFTER_ERROR_MS);
      },
      stopping,
    };
  }

  async load(client: PharaohClient, stopping: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: this.loops }, async (_, loop) => {
        const ctx = this.stepContext(client, loop, stopping, undefined);
        while (!stopping()) await this.plugin.step(ctx);
      }),
    );
  }

  /** What the service needs asked after a restart (see the table above); resolves to the plug-in's read-back, if one was made. */
  protected abstract ask(client: PharaohClient, ctxs: StepContext[], phase: Exclude<Phase, 'load'>): Promise<Final>;

  async check(client: PharaohClient, phase: Exclude<Phase, 'load'>): Promise<void> {
    // The server was killed (or the power cut) after every answer so far, and started before every call from here on.
    this.harness.push({ k: 'kill', label: SERVER, t: this.tick() }, { k: 'start', label: SERVER, t: this.tick() });
    const fresh = this.events.length;
    this.checkFailures = 0;
    const ctxs = Array.from({ length: this.loops }, (_, loop) => this.stepContext(client, loop, () => false, phase));
    const final = await this.ask(client, ctxs, phase);
    if (this.checkFailures > 5) this.ctx.report('unavailable', `${this.plugin.service}: ${this.checkFailures} check calls failed in all`);
    this.verify(final, fresh);
  }

  /** The crash test's checks over the whole history; violations not reported before are reported now. */
  private verify(final: Final, freshFrom: number): void {
    const v: Violation[] = [];
    const issues: Issue[] = this.plugin.issues?.(this.events) ?? [];
    checkUnique(issues, v);
    checkShardOrder(issues, v);
    checkCrossRestart(issues, this.harness, { [this.plugin.service]: this.owners }, v);
    this.plugin.check({ events: this.events, harness: [], owners: this.owners, final, violations: v });
    for (const x of v) {
      const key = `${x.check}: ${x.detail}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.ctx.report(kindOf(x.check), x.detail);
    }
    const size = (list: Issue[]) => list.reduce((a, i) => a + Number(i.hi - i.lo + 1n), 0);
    this.ctx.counters.ids += size(this.plugin.issues?.(this.events.slice(this.counted)) ?? []);
    this.ctx.counters.crossIds += size(this.plugin.issues?.(this.events.slice(freshFrom)) ?? []);
    this.counted = this.events.length;
  }

  /** Run `fn` for every context, a few at a time. */
  protected each(ctxs: StepContext[], fn: (ctx: StepContext) => Promise<void>): Promise<void> {
    return mapLimit(ctxs, CHECK_CONCURRENCY, fn);
  }
}

/**
 * Consumer groups: each loop owns one group of two members that rebalance,
 * heartbeat, commit offsets (per group increasing) and commit with stale
 * generations on purpose (the plug-in's step).
 */
export class GroupModel extends PluginModel {
  protected readonly plugin = groupCoordPlugin as ChaosPlugin;
  protected readonly loops = 8;

  private generations(group: string): number[] {
    return this.events.filter((e) => e.k === 'grj' && e.g === group).map((e) => e.gen as number);
  }

  private async probeStale(ctxs: StepContext[]): Promise<void> {
    await this.each(ctxs, async (ctx) => {
      if (await groupCalls.commitStale(ctx)) this.ctx.counters.epochs++;
    });
  }

  protected async ask(client: PharaohClient, ctxs: StepContext[], phase: Exclude<Phase, 'load'>): Promise<Final> {
    await this.probeStale(ctxs);
    if (phase === 'after-cut') {
      await this.each(ctxs, async (ctx) => {
        const group = groupCalls.group(ctx);
        const before = this.generations(group);
        const high = Math.max(-1, ...before);
        await groupCalls.rebalance(ctx);
        for (const gen of this.generations(group).slice(before.length)) {
          this.ctx.counters.epochs++;
          if (gen <= high) this.ctx.report('group-generation', `group ${group}: generation ${gen} formed after the power cut is not above generation ${high} acknowledged before it`);
        }
      });
      // The newest generation before the cut is the stale one now.
      await this.probeStale(ctxs);
    }
    // Read back last: the checks want every commit, the probes' too, in the read-back.
    const final = (await groupCoordPlugin.readBack!(client, this.events)) as Map<string, Map<number, number> | string>;
    for (const read of final.values()) if (read instanceof Map) this.ctx.counters.facts += read.size;
    return final;
  }
}

type SchemaFinal = { byId: Map<string, unknown>; versions: Map<string, unknown> };

/**
 * Schemas: each loop owns two subjects and registers new schemas, earlier ones
 * again (either spelling), and reads ids (the plug-in's step). After a restart
 * the ids registered since the last read-back are read back, and a seeded
 * sample (`sampleOld`) of the older ones; the others keep what they read last
 * (as txcoord's model samples old transactions).
 */
export class SchemaModel extends PluginModel {
  protected readonly plugin = schemaRegistryPlugin as ChaosPlugin;
  protected readonly loops = 6;
  private readonly final: SchemaFinal = { byId: new Map(), versions: new Map() };

  private async readBack(client: PharaohClient): Promise<SchemaFinal> {
    const regs = this.events.filter((e) => e.k === 'schr');
    const ids = [...new Set(regs.map((e) => e.id as string))];
    const old = ids.filter((id) => this.final.byId.has(id));
    const chosen = new Set([...ids.filter((id) => !this.final.byId.has(id)), ...sample(old, this.ctx.sampleOld, this.ctx.rnd)]);
    const read = (await schemaRegistryPlugin.readBack!(client, regs.filter((e) => chosen.has(e.id as string)))) as SchemaFinal;
    for (const [id, r] of read.byId) this.final.byId.set(id, r);
    for (const [subject, list] of read.versions) this.final.versions.set(subject, list);
    this.ctx.counters.facts += read.byId.size + read.versions.size;
    return this.final;
  }

  protected async ask(client: PharaohClient, ctxs: StepContext[], phase: Exclude<Phase, 'load'>): Promise<Final> {
    if (phase === 'after-cut') {
      await this.each(ctxs, async (ctx) => {
        await schemaCalls.registerAgain(ctx, 4);
        await schemaCalls.registerNext(ctx);
      });
    }
    // Read back last: the checks want every registration, the ones just made too, in the read-back.
    return this.readBack(client);
  }
}

/** CDC ids and offsets: each loop owns two tables and two partitions, one call at a time per key (the plug-in's step). */
export class SequencerModel extends PluginModel {
  protected readonly plugin = sequencerPlugin as ChaosPlugin;
  protected readonly loops = 6;

  protected async ask(client: PharaohClient, _ctxs: StepContext[], phase: Exclude<Phase, 'load'>): Promise<Final> {
    if (phase === 'after-cut') this.ctx.counters.facts += await takeEach(this.stepContext(client, CHECK_LOOP, () => false, phase), this.events);
    return undefined;
  }
}

/** The services of this file, for createModel. */
export const PLUGIN_MODELS: Partial<Record<ServiceName, new (ctx: ModelContext) => ServiceModel>> = {
  'group-coord': GroupModel,
  'schema-registry': SchemaModel,
  sequencer: SequencerModel,
};
