/**
 * The group table of one group-coord shard (Kafka's group coordinator for
 * consumers). Pure domain logic over an injected clock, journal, timer,
 * layout and restore facts.
 *
 * A rebalance starts when a member joins (or rejoins with other protocols, or
 * is the leader), leaves or misses its session timeout, or when the leader
 * does not sync in time. It completes when every member has joined again, or
 * at its rebalance deadline without the members that did not. Its generation
 * is TimeEpochs.next(previous) (seconds-based, strictly increasing per group,
 * above a restore's floor), journaled before any member hears of it.
 *
 * Durability: generations (with members, leader, protocol and any built-in
 * assignment), leaders' assignments, leaves and expiries, and offset commits
 * are journaled and answered only once durable; heartbeats and the rebalance
 * in progress are not. So after a crash every acknowledged generation and
 * commit is intact, a fenced generation stays fenced, and members of the
 * current generation get a fresh session timeout.
 *
 * Ordering: records that change a group's membership or generation are
 * appended one at a time per group (`Group.changing`), and every op waits
 * for the one in flight before it checks anything; a check and its append
 * happen in one synchronous step, so journal order is the order of decisions.
 */
import { randomUUID } from 'node:crypto';
import { shardForKey } from '@pharaoh/protocol';
import { MAX_EPOCH_LEAD_S, TimeEpochs, type JournalHooks, type RestoreMark, type TableJournal } from '@pharaoh/server';
import type { Layout } from '@pharaoh/snowflake';
import { assign, decodeAssignment, encodeAssignment, isBuiltin, parseSubscription, type Assignment, type Subscription } from './assignors.js';
import {
  badRequest,
  fencedByRestore,
  generationsTooFarAhead,
  groupFull,
  illegalGeneration,
  inconsistentProtocol,
  rebalanceInProgress,
  tableClosed,
  tooManyGroups,
  unknownMember,
  wrongShard,
} from './errors.js';
import { GroupStore, type Group, type Member, type Protocol } from './group-state.js';
import type { GroupTableOptions } from './options.js';
import { parseGroupRecord, type AssignmentEntry, type GenerationRecord, type GroupRecord, type OffsetEntry } from './records.js';

export type GroupJournal = TableJournal<GroupRecord>;
export type GroupJournalHooks = JournalHooks<GroupRecord>;

export interface JoinArgs {
  group: string;
  member?: string | undefined;
  protocols: Protocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export interface JoinAnswer {
  /** PENDING: the rebalance is still running after `joinWaitMs`; call join again with `memberId`. */
  status: 'JOINED' | 'PENDING';
  memberId: string;
  /** 0 when PENDING. */
  generation: number;
  leader: string;
  protocol: string;
  /** The members and their metadata for the chosen protocol: for the leader only (others get []). */
  members: Array<{ memberId: string; metadata: Uint8Array }>;
}

export interface SyncAnswer {
  /** PENDING: the leader has not sent the assignment within `joinWaitMs`; call sync again. */
  status: 'ASSIGNED' | 'PENDING';
  protocol: string;
  assignment: Uint8Array;
}

export interface OffsetArg {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | undefined;
}

export interface GroupTableDeps {
  /** The shard this table serves: group ids must hash to it. */
  shard: number;
  clock: { now(): number };
  /** Generations count seconds from this layout's epoch. */
  layout: Pick<Layout, 'epochMs'>;
  /** Set when the shard was restored from a backup: every generation below the floor is fenced. */
  restored?: Pick<RestoreMark, 'restoredAt'> | undefined;
  openJournal(hooks: GroupJournalHooks): Promise<GroupJournal>;
  /** A new member's id (default `member-<uuid>`). */
  newMemberId?: () => string;
  /** Run `fn` after `ms` unless cancelled (default setTimeout); bounds join/sync waits. */
  timer?: (ms: number, fn: () => void) => () => void;
}

/** Re-looks after waiting for a group's record in flight; past it the op answers GROUP_REBALANCE_IN_PROGRESS (the group is churning). */
const MAX_LOOKUPS = 16;

type Waiter<T> = (r: T | Error) => void;

const EMPTY = new Uint8Array(0);
const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function defaultTimer(ms: number, fn: () => void): () => void {
  const h = setTimeout(fn, ms);
  return () => clearTimeout(h);
}

export class GroupTable {
  private journal: GroupJournal | undefined;
  private readonly store: GroupStore;
  private readonly epochs: TimeEpochs;
  private readonly joinWaiters = new Map<Group, Map<string, Set<Waiter<JoinAnswer>>>>();
  private readonly syncWaiters = new Map<Group, Map<string, Set<Waiter<SyncAnswer>>>>();
  private readonly newMemberId: () => string;
  private readonly timer: (ms: number, fn: () => void) => () => void;
  private closed = false;

  private constructor(
    private readonly deps: GroupTableDeps,
    readonly options: GroupTableOptions,
  ) {
    this.store = new GroupStore(deps.clock);
    this.epochs = new TimeEpochs(deps.layout, deps.clock, deps.restored);
    this.newMemberId = deps.newMemberId ?? (() => `member-${randomUUID()}`);
    this.timer = deps.timer ?? defaultTimer;
  }

  /** Open the journal and replay it; groups a member left since their generation formed rebalance. */
  static async open(deps: GroupTableDeps, options: GroupTableOptions): Promise<GroupTable> {
    const table = new GroupTable(deps, options);
    table.journal = await deps.openJournal({
      onRecord: (raw) => table.store.apply(parseGroupRecord(raw)),
      snapshot: () => table.store.snapshot(),
    });
    for (const g of table.store.groups.values()) if (g.departed) table.prepare(g);
    return table;
  }

  get stats(): { groups: number; members: number } {
    return { groups: this.store.groups.size, members: this.store.memberCount };
  }

  /** Every generation handed out is at least this: 0 unless the shard was restored. */
  get generationFloor(): number {
    return this.epochs.floor;
  }

  /** The group as it stands (tests and metrics; do not change it). */
  peek(group: string): Readonly<Group> | undefined {
    return this.store.groups.get(group);
  }

  /**
   * Join (or rejoin) `group`. `member` absent: a new member with an id the
   * table picks; an id the group does not know: a new member with that id
   * (the client's choice, e.g. a UUID); a member's id: a rejoin. Resolves
   * JOINED with the generation once it is durable, or PENDING after
   * `joinWaitMs` while the rebalance runs (the member stays in it and calls
   * again with its memberId). A known follower rejoining with the same
   * protocols in a formed generation gets it back at once. GROUP_FULL,
   * OVERLOADED (groups per shard), GROUP_INCONSISTENT_PROTOCOL, BAD_REQUEST.
   */
  async join(args: JoinArgs): Promise<JoinAnswer> {
    this.checkJoin(args);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      this.checkOpen();
      let g = this.store.groups.get(args.group);
      if (g?.changing) {
        await g.changing.catch(() => undefined);
        continue;
      }
      if (g === undefined) {
        if (this.store.groups.size >= this.options.maxGroups) throw tooManyGroups(this.options.maxGroups);
        g = this.store.create(args.group);
      }
      return this.joinGroup(g, args);
    }
    throw rebalanceInProgress(args.group);
  }

  /**
   * The member's assignment for `generation`. The leader (of a protocol that
   * is not built-in) sends every member's assignment, journaled before it is
   * answered; a follower waits for it up to `joinWaitMs` (then PENDING).
   */
  async sync(group: string, member: string, generation: number, assignments?: Array<{ memberId: string; assignment: Uint8Array }>): Promise<SyncAnswer> {
    this.checkOwner(group);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(group, member, generation);
      if ('wait' in r) {
        await r.wait;
        continue;
      }
      const { g, m } = r;
      if (g.phase === 'PREPARING') throw rebalanceInProgress(group);
      if (g.phase === 'STABLE') return { status: 'ASSIGNED', protocol: g.protocol, assignment: m.assignment ?? EMPTY };
      if (m.id !== g.leader) {
        if (assignments !== undefined) throw badRequest('assignments', `only the leader (${g.leader}) sends assignments`);
        return this.wait(this.syncWaiters, g, m.id, (): SyncAnswer => ({ status: 'PENDING', protocol: g.protocol, assignment: EMPTY }));
      }
      if (assignments === undefined) throw badRequest('assignments', `the leader must send the assignments of generation ${g.generation}`);
      const entries = this.checkAssignments(g, assignments);
      await this.change(g, { t: 'a', g: g.id, gen: g.generation, a: entries }, () => this.settle(this.syncWaiters, g, (id) => this.syncAnswer(g, id)));
      return this.syncAnswer(g, m.id);
    }
    throw rebalanceInProgress(group);
  }

  /** Keep the member alive; GROUP_REBALANCE_IN_PROGRESS while a rebalance collects joins (the member must join again). */
  async heartbeat(group: string, member: string, generation: number): Promise<Record<string, never>> {
    this.checkOwner(group);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(group, member, generation);
      if ('wait' in r) {
        await r.wait;
        continue;
      }
      r.m.deadline = this.deps.clock.now() + r.m.sessionTimeoutMs;
      if (r.g.phase === 'PREPARING') throw rebalanceInProgress(group);
      return {};
    }
    throw rebalanceInProgress(group);
  }

  /** Leave the group (durably); the others rebalance. GROUP_UNKNOWN_MEMBER if it is not a member. */
  async leave(group: string, member: string): Promise<Record<string, never>> {
    this.checkOwner(group);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      this.checkOpen();
      const g = this.store.groups.get(group);
      if (g?.changing) {
        await g.changing.catch(() => undefined);
        continue;
      }
      const m = g?.members.get(member);
      if (!g || !m) throw unknownMember(group, member);
      await this.remove(g, m);
      return {};
    }
    throw rebalanceInProgress(group);
  }

  /**
   * Commit offsets for the member's generation; resolves once durable.
   * Refused for a non-member (GROUP_UNKNOWN_MEMBER), another generation
   * (GROUP_ILLEGAL_GENERATION), while the generation awaits its assignment
   * (GROUP_REBALANCE_IN_PROGRESS), beyond the limits (BAD_REQUEST, GROUP_FULL).
   */
  async commitOffsets(group: string, member: string, generation: number, offsets: OffsetArg[]): Promise<Record<string, never>> {
    this.checkOwner(group);
    const entries = this.checkOffsets(offsets);
    for (let i = 0; i < MAX_LOOKUPS; i++) {
      const r = this.look(group, member, generation);
      if ('wait' in r) {
        await r.wait;
        continue;
      }
      const { g } = r;
      if (g.phase === 'AWAITING_SYNC') throw rebalanceInProgress(group);
      if (g.offsetCount + this.store.newPartitions(g, entries) > this.options.maxOffsetsPerGroup) {
        throw groupFull(group, 'committed partitions', this.options.maxOffsetsPerGroup);
      }
      const rec: GroupRecord = { t: 'o', g: group, o: entries };
      await this.checkOpen().append(rec);
      this.store.apply(rec);
      return {};
    }
    throw rebalanceInProgress(group);
  }

  /** Committed offsets of `group` (all, or those of `partitions`; partitions never committed are left out). */
  fetchOffsets(group: string, partitions?: Array<{ topic: string; partition: number }>): { offsets: Array<{ topic: string; partition: number; offset: number; metadata: string }> } {
    this.checkOwner(group);
    const g = this.store.groups.get(group);
    const out: Array<{ topic: string; partition: number; offset: number; metadata: string }> = [];
    if (!g) return { offsets: out };
    if (partitions === undefined) {
      for (const [topic, parts] of g.offsets) for (const [partition, o] of parts) out.push({ topic, partition, offset: o.offset, metadata: o.metadata });
    } else {
      for (const { topic, partition } of partitions) {
        const o = g.offsets.get(topic)?.get(partition);
        if (o) out.push({ topic, partition, offset: o.offset, metadata: o.metadata });
      }
    }
    return { offsets: out };
  }

  /**
   * Time-driven changes: remove (durably) members past their session
   * timeout, complete rebalances past their deadline, rebalance groups whose
   * leader did not sync in time, forget empty groups past retention.
   */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    let changed = 0;
    const work: Array<Promise<void>> = [];
    for (const g of [...this.store.groups.values()]) {
      if (g.changing || this.closed) continue;
      const due = [...g.members.values()].filter((m) => m.deadline <= now && !(g.phase === 'PREPARING' && m.joined));
      if (due.length > 0) {
        changed += due.length;
        work.push(this.removeAll(g, due));
      } else if (g.phase === 'PREPARING') {
        this.checkComplete(g);
        if (g.phase === 'PREPARING' && !g.changing && now >= g.rebalanceDeadline) this.complete(g);
        if (g.changing) changed++;
      } else if (g.phase === 'AWAITING_SYNC' && now >= g.syncDeadline) {
        changed++;
        this.prepare(g);
      } else if (this.forgettable(g, now)) {
        changed++;
        work.push(this.forget(g));
      }
    }
    await Promise.all(work);
    return changed;
  }

  /** Stop taking requests, answer every waiting call SHARD_UNAVAILABLE, wait for records in flight, close the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiters of [this.joinWaiters, this.syncWaiters] as Array<Map<Group, Map<string, Set<Waiter<never>>>>>) {
      for (const byMember of waiters.values()) for (const set of byMember.values()) for (const w of [...set]) w(tableClosed());
    }
    await Promise.allSettled([...this.store.groups.values()].map((g) => g.changing));
    await this.journal?.close();
  }

  private joinGroup(g: Group, args: JoinArgs): Promise<JoinAnswer> {
    const now = this.deps.clock.now();
    const m0 = args.member === undefined ? undefined : g.members.get(args.member);
    if (m0 === undefined && g.members.size >= this.options.maxMembers) throw groupFull(g.id, 'members', this.options.maxMembers);
    let m = m0;
    this.checkProtocols(g, args.protocols, m?.id);
    // Kafka's rule: a member rejoining unchanged gets the generation that just formed (its earlier join answered PENDING);
    // in a stable group only a follower does (a leader's rejoin asks for a rebalance).
    const formed = g.phase === 'AWAITING_SYNC' || (g.phase === 'STABLE' && m?.id !== g.leader);
    if (m?.durable && formed && g.generation >= this.epochs.floor && sameProtocols(m.protocols, args.protocols)) {
      m.deadline = now + m.sessionTimeoutMs;
      return Promise.resolve(this.joinAnswer(g, m.id));
    }
    if (this.epochs.next(g.reserved) === undefined) throw generationsTooFarAhead(g.id, MAX_EPOCH_LEAD_S);
    if (!m) {
      m = { id: args.member ?? this.uniqueMemberId(g), sessionTimeoutMs: 0, rebalanceTimeoutMs: 0, protocols: undefined, deadline: 0, joined: false, assignment: undefined, durable: false };
      g.members.set(m.id, m);
    }
    m.protocols = args.protocols;
    m.sessionTimeoutMs = args.sessionTimeoutMs;
    m.rebalanceTimeoutMs = args.rebalanceTimeoutMs;
    m.deadline = now + args.sessionTimeoutMs;
    this.prepare(g);
    g.rebalanceDeadline = Math.max(g.rebalanceDeadline, now + args.rebalanceTimeoutMs);
    m.joined = true;
    const id = m.id;
    const answer = this.wait(this.joinWaiters, g, id, (): JoinAnswer => ({ status: 'PENDING', memberId: id, generation: 0, leader: '', protocol: '', members: [] }));
    this.checkComplete(g);
    return answer;
  }

  private uniqueMemberId(g: Group): string {
    for (let i = 0; i < 8; i++) {
      const id = this.newMemberId();
      if (!g.members.has(id)) return id;
    }
    throw new Error(`group ${g.id}: could not find an unused member id (bug in newMemberId)`);
  }

  /** Start a rebalance (in memory): every member must join again; followers waiting for an assignment hear GROUP_REBALANCE_IN_PROGRESS. */
  private prepare(g: Group): void {
    if (g.phase === 'PREPARING') return;
    const now = this.deps.clock.now();
    g.phase = 'PREPARING';
    let rebalanceMs = 0;
    for (const m of g.members.values()) {
      m.joined = false;
      rebalanceMs = Math.max(rebalanceMs, m.rebalanceTimeoutMs);
    }
    g.rebalanceDeadline = now + rebalanceMs;
    this.settle(this.syncWaiters, g, () => rebalanceInProgress(g.id));
  }

  private checkComplete(g: Group): void {
    if (g.phase !== 'PREPARING' || g.changing) return;
    for (const m of g.members.values()) if (!m.joined) return;
    this.complete(g);
  }

  /**
   * Form the next generation from the members that joined: journal it, then
   * answer their joins. A group left with no member gets an empty generation
   * (fencing the old one); a group that never formed one is just dropped.
   */
  private complete(g: Group): void {
    if (g.phase !== 'PREPARING' || g.changing || this.closed) return;
    const joined = [...g.members.values()].filter((m) => m.joined);
    if (joined.length === 0 && g.generation === 0) {
      if (g.offsetCount === 0) this.store.groups.delete(g.id);
      g.members.clear();
      g.phase = 'EMPTY';
      return;
    }
    const gen = this.epochs.next(g.reserved);
    // More than MAX_EPOCH_LEAD_S of rebalances ahead of the clock: joins answer PENDING until time catches up.
    if (gen === undefined) return;
    const { protocol, members, dropped } = this.chooseProtocol(g, joined);
    const leader = members.some((m) => m.id === g.leader) ? g.leader : (members[0]?.id ?? '');
    const rec: GenerationRecord = { t: 'g', g: g.id, gen, p: protocol, l: leader, m: members.map((m) => [m.id, m.sessionTimeoutMs, m.rebalanceTimeoutMs]) };
    if (isBuiltin(protocol) && members.length > 0) rec.a = this.builtinAssignment(g, protocol, members);
    g.reserved = gen;
    for (const m of dropped) this.settle(this.joinWaiters, g, (id) => (id === m.id ? inconsistentProtocol(g.id, (m.protocols ?? []).map((p) => p.name), [protocol]) : undefined));
    void this.change(g, rec, () => this.settle(this.joinWaiters, g, (id) => (g.members.has(id) ? this.joinAnswer(g, id) : unknownMember(g.id, id)))).catch(() => undefined);
  }

  /**
   * The protocol of the next generation: the leader's (or first member's)
   * most preferred one that the most members support; members that support
   * none of it are left out of the generation.
   */
  private chooseProtocol(g: Group, joined: Member[]): { protocol: string; members: Member[]; dropped: Member[] } {
    if (joined.length === 0) return { protocol: '', members: [], dropped: [] };
    const first = joined.find((m) => m.id === g.leader) ?? joined[0]!;
    let best = '';
    let bestCount = 0;
    for (const p of first.protocols ?? []) {
      const n = joined.filter((m) => m.protocols?.some((q) => q.name === p.name)).length;
      if (n > bestCount) [best, bestCount] = [p.name, n];
    }
    const members = joined.filter((m) => m.protocols?.some((q) => q.name === best));
    return { protocol: best, members, dropped: joined.filter((m) => !members.includes(m)) };
  }

  private builtinAssignment(g: Group, protocol: 'range' | 'roundrobin' | 'sticky', members: Member[]): AssignmentEntry[] {
    const subs = new Map<string, Subscription>();
    const previous = new Map<string, Assignment>();
    for (const m of members) {
      subs.set(m.id, parseSubscription(protocol, m.protocols!.find((p) => p.name === protocol)!.metadata));
      if (g.protocol === protocol) previous.set(m.id, decodeAssignment(m.assignment));
    }
    const out = assign(protocol, { members: subs, previous });
    return members.map((m) => [m.id, encodeAssignment(out.get(m.id) ?? new Map())]);
  }

  /** Journal a membership/generation record of `g` (one at a time per group), apply it, then run `after`. */
  private change(g: Group, rec: GroupRecord, after: () => void): Promise<void> {
    const journal = this.checkOpen();
    const changing: Promise<void> = journal.append(rec).then(
      () => {
        if (g.changing === changing) g.changing = undefined;
        this.store.apply(rec);
        after();
      },
      (err: unknown) => {
        if (g.changing === changing) g.changing = undefined;
        const e = err instanceof Error ? err : new Error(String(err));
        this.settle(this.joinWaiters, g, () => e);
        this.settle(this.syncWaiters, g, () => e);
        throw err;
      },
    );
    g.changing = changing;
    return changing;
  }

  private async removeAll(g: Group, due: Member[]): Promise<void> {
    for (const m of due) {
      while (g.changing) await g.changing.catch(() => undefined);
      if (this.closed || g.members.get(m.id) !== m || m.deadline > this.deps.clock.now()) continue;
      await this.remove(g, m).catch(() => undefined);
    }
  }

  /** Remove `m` durably (a leave or an expiry), then rebalance the rest. A member only known in memory goes without a record. */
  private async remove(g: Group, m: Member): Promise<void> {
    const after = () => {
      this.settle(this.joinWaiters, g, (id) => (id === m.id ? unknownMember(g.id, m.id) : undefined));
      this.settle(this.syncWaiters, g, (id) => (id === m.id ? unknownMember(g.id, m.id) : undefined));
      if (g.phase !== 'PREPARING') this.prepare(g);
      this.checkComplete(g);
    };
    if (!m.durable) {
      g.members.delete(m.id);
      after();
      return;
    }
    await this.change(g, { t: 'l', g: g.id, m: m.id, at: this.deps.clock.now() }, after);
  }

  private forgettable(g: Group, now: number): boolean {
    // A generation still ahead of the clock must stay known: a new group of that name would start below it.
    return g.phase === 'EMPTY' && g.members.size === 0 && now - g.touchedAt >= this.options.retentionMs && g.generation < this.epochs.nowSec();
  }

  private async forget(g: Group): Promise<void> {
    if (g.generation === 0 && g.offsetCount === 0) {
      this.store.groups.delete(g.id);
      return;
    }
    await this.change(g, { t: 'd', g: g.id }, () => undefined).catch(() => undefined);
  }

  /**
   * Where (group, member, generation) stands, decided synchronously: the
   * group and member, `wait` while a record of the group is in flight, or a
   * refusal (GROUP_UNKNOWN_MEMBER, GROUP_ILLEGAL_GENERATION).
   */
  private look(group: string, member: string, generation: number): { g: Group; m: Member } | { wait: Promise<unknown> } {
    this.checkOpen();
    const g = this.store.groups.get(group);
    if (g?.changing) return { wait: g.changing.catch(() => undefined) };
    const m = g?.members.get(member);
    if (!g || !m) throw unknownMember(group, member);
    const restored = this.deps.restored;
    if (restored !== undefined && generation < this.epochs.floor) throw fencedByRestore(group, generation, this.epochs.floor, restored.restoredAt);
    if (generation !== g.generation || !m.durable) throw illegalGeneration(group, generation, g.generation);
    return { g, m };
  }

  private joinAnswer(g: Group, id: string): JoinAnswer {
    const members =
      id === g.leader
        ? [...g.members.values()].map((m) => ({ memberId: m.id, metadata: m.protocols?.find((p) => p.name === g.protocol)?.metadata ?? EMPTY }))
        : [];
    return { status: 'JOINED', memberId: id, generation: g.generation, leader: g.leader, protocol: g.protocol, members };
  }

  private syncAnswer(g: Group, id: string): SyncAnswer {
    if (!g.members.has(id)) return { status: 'PENDING', protocol: g.protocol, assignment: EMPTY };
    return { status: 'ASSIGNED', protocol: g.protocol, assignment: g.members.get(id)?.assignment ?? EMPTY };
  }

  /** Wait for this member's answer in `waiters`, at most joinWaitMs; then `pending()`. */
  private wait<T>(waiters: Map<Group, Map<string, Set<Waiter<T>>>>, g: Group, member: string, pending: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let byMember = waiters.get(g);
      if (!byMember) waiters.set(g, (byMember = new Map()));
      let set = byMember.get(member);
      if (!set) byMember.set(member, (set = new Set()));
      const mine = set;
      const done = () => {
        mine.delete(w);
        if (mine.size === 0 && byMember.get(member) === mine) byMember.delete(member);
        if (byMember.size === 0 && waiters.get(g) === byMember) waiters.delete(g);
      };
      const w: Waiter<T> = (r) => {
        cancel();
        done();
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      mine.add(w);
      const cancel = this.timer(this.options.joinWaitMs, () => {
        done();
        resolve(pending());
      });
    });
  }

  /** Answer waiting calls of `g`: `answer(memberId)` gives each one's answer, or undefined to leave it waiting. */
  private settle<T>(waiters: Map<Group, Map<string, Set<Waiter<T>>>>, g: Group, answer: (memberId: string) => T | Error | undefined): void {
    const byMember = waiters.get(g);
    if (!byMember) return;
    for (const [id, set] of [...byMember]) {
      const r = answer(id);
      if (r === undefined) continue;
      for (const w of [...set]) w(r);
    }
  }

  private checkJoin(args: JoinArgs): void {
    this.checkOwner(args.group);
    const o = this.options;
    if (args.sessionTimeoutMs < o.minSessionTimeoutMs || args.sessionTimeoutMs > o.maxSessionTimeoutMs) {
      throw badRequest('sessionTimeoutMs', `must be in ${o.minSessionTimeoutMs}..${o.maxSessionTimeoutMs} ms on this server, got ${args.sessionTimeoutMs}`);
    }
    if (args.rebalanceTimeoutMs > o.maxRebalanceTimeoutMs) {
      throw badRequest('rebalanceTimeoutMs', `must be at most ${o.maxRebalanceTimeoutMs} ms on this server, got ${args.rebalanceTimeoutMs}`);
    }
    if (args.protocols.length === 0) throw badRequest('protocols', 'a member must offer at least one protocol');
    const names = new Set<string>();
    for (const p of args.protocols) {
      if (names.has(p.name)) throw badRequest('protocols', `protocol ${JSON.stringify(p.name)} is offered twice`);
      names.add(p.name);
      if (p.metadata.length > o.maxMetadataBytes) throw badRequest(`protocols[${p.name}].metadata`, `${p.metadata.length} bytes is more than this server's ${o.maxMetadataBytes}`);
      if (isBuiltin(p.name)) parseSubscription(p.name, p.metadata);
    }
  }

  /** Refuse a join whose protocols share nothing with what every other member offered. */
  private checkProtocols(g: Group, offered: Protocol[], self: string | undefined): void {
    let common: Set<string> | undefined;
    for (const m of g.members.values()) {
      if (m.id === self || m.protocols === undefined) continue;
      const names = new Set(m.protocols.map((p) => p.name));
      common = common === undefined ? names : new Set([...common].filter((n) => names.has(n)));
    }
    if (common !== undefined && !offered.some((p) => common.has(p.name))) {
      throw inconsistentProtocol(g.id, offered.map((p) => p.name), [...common]);
    }
  }

  private checkAssignments(g: Group, assignments: Array<{ memberId: string; assignment: Uint8Array }>): AssignmentEntry[] {
    if (isBuiltin(g.protocol)) throw badRequest('assignments', `group uses the built-in "${g.protocol}" assignor: send no assignments`);
    const seen = new Set<string>();
    for (const { memberId, assignment } of assignments) {
      if (!g.members.get(memberId)?.durable) throw badRequest('assignments', `"${memberId}" is not a member of generation ${g.generation}`);
      if (seen.has(memberId)) throw badRequest('assignments', `"${memberId}" is assigned twice`);
      seen.add(memberId);
      if (assignment.length > this.options.maxAssignmentBytes) {
        throw badRequest('assignments', `the assignment of "${memberId}" has ${assignment.length} bytes, more than this server's ${this.options.maxAssignmentBytes}`);
      }
    }
    // Members the leader left out get an empty assignment.
    return [...g.members.values()].filter((m) => m.durable).map((m) => [m.id, assignments.find((a) => a.memberId === m.id)?.assignment ?? EMPTY]);
  }

  private checkOffsets(offsets: OffsetArg[]): OffsetEntry[] {
    const o = this.options;
    if (offsets.length === 0) throw badRequest('offsets', 'commit at least one offset');
    if (offsets.length > o.maxOffsetsPerCommit) throw badRequest('offsets', `${offsets.length} offsets is more than this server's ${o.maxOffsetsPerCommit} per commit`);
    return offsets.map((x, i) => {
      const metadata = x.metadata ?? '';
      if (utf8Bytes(metadata) > o.maxOffsetMetadataBytes) throw badRequest(`offsets[${i}].metadata`, `more than this server's ${o.maxOffsetMetadataBytes} bytes`);
      return [x.topic, x.partition, x.offset, metadata];
    });
  }

  private checkOwner(group: string): void {
    const owner = shardForKey(group);
    if (owner !== this.deps.shard) throw wrongShard(group, owner, this.deps.shard);
  }

  private checkOpen(): GroupJournal {
    if (this.closed || !this.journal) throw tableClosed();
    return this.journal;
  }
}

function sameProtocols(a: Protocol[] | undefined, b: Protocol[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return a.every((p, i) => p.name === b[i]!.name && Buffer.compare(Buffer.from(p.metadata), Buffer.from(b[i]!.metadata)) === 0);
}
