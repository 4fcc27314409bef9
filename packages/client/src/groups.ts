/**
 * Consumer groups (service `group-coord`): `client.groups.*` are typed calls,
 * each routed to `shardForKey(group)`; `client.groups.member(...)` is a small
 * consumer helper that runs the join → sync loop, answers rebalances and
 * commits offsets for its generation (docs/PROTOCOL.md, "group-coord").
 */
import { ERROR_CODES, shardForKey } from '@pharaoh/protocol';
import { GROUP_COORD, type ServiceResult } from '@pharaoh/registry';
import { CallSite, ClientClosedError, GroupIllegalGenerationError, GroupRebalanceInProgressError, GroupUnknownMemberError, InvalidArgumentError } from './errors.js';
import type { Call, CallArgs, Router } from './router.js';

type Op = keyof (typeof GROUP_COORD)['ops'] & string;
export type JoinResult = ServiceResult<typeof GROUP_COORD, 'group.join'>;
export type SyncResult = ServiceResult<typeof GROUP_COORD, 'group.sync'>;
export type CommittedOffset = ServiceResult<typeof GROUP_COORD, 'group.fetchOffsets'>['offsets'][number];

/** A member's place in a group: what every op after the join names. */
export interface GroupMemberRef {
  memberId: string;
  generation: number;
}

export interface JoinOptions {
  /** The memberId from an earlier answer (also a PENDING one); absent for a new member. */
  memberId?: string;
  /** Protocols this member supports, most preferred first: `range`, `roundrobin`, `sticky` are assigned by the coordinator. */
  protocols: Array<{ name: string; metadata: Uint8Array }>;
  /** Without a heartbeat for this long the member is removed. */
  sessionTimeoutMs: number;
  /** How long a rebalance waits for this member to join again. */
  rebalanceTimeoutMs: number;
}

export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

/** The metadata of a built-in protocol: the topics a member subscribes to and their partition counts, as the coordinator reads it. */
export function subscription(topics: Record<string, number>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ topics }));
}

/** A built-in protocol's assignment: topic → partitions. */
export function parseAssignment(bytes: Uint8Array): Record<string, number[]> {
  if (bytes.length === 0) return {};
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, number[]>;
}

export class GroupsApi {
  constructor(private readonly router: Router) {}

  private run<O extends Op>(group: string, op: O, args: Omit<CallArgs<typeof GROUP_COORD, O>, 'group'>): Promise<ServiceResult<typeof GROUP_COORD, O>> {
    const site = new CallSite();
    try {
      if (typeof group !== 'string' || group.length === 0) throw new InvalidArgumentError('group must be a non-empty string');
      if (this.router.isClosed) return Promise.reject(site.stamp(new ClientClosedError()));
      const call = { spec: GROUP_COORD, op, shard: shardForKey(group), args: { ...args, group } } as unknown as Call<typeof GROUP_COORD, O>;
      return this.router.execute(call, site);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Join `group`: JOINED with the generation, or PENDING while the rebalance
   * runs (call again with the answer's memberId). Kafka's JoinGroup.
   */
  join(group: string, o: JoinOptions): Promise<JoinResult> {
    const args: Omit<CallArgs<typeof GROUP_COORD, 'group.join'>, 'group'> = { protocols: o.protocols, sessionTimeoutMs: o.sessionTimeoutMs, rebalanceTimeoutMs: o.rebalanceTimeoutMs };
    if (o.memberId !== undefined) args.member = o.memberId;
    return this.run(group, 'group.join', args);
  }

  /** The member's assignment (the leader of a custom protocol sends everyone's). PENDING: call again. */
  sync(group: string, m: GroupMemberRef, assignments?: Array<{ memberId: string; assignment: Uint8Array }>): Promise<SyncResult> {
    const args: Omit<CallArgs<typeof GROUP_COORD, 'group.sync'>, 'group'> = { member: m.memberId, generation: m.generation };
    if (assignments !== undefined) args.assignments = assignments;
    return this.run(group, 'group.sync', args);
  }

  /** Keep the member alive. Rejects GroupRebalanceInProgressError when it must join again. */
  async heartbeat(group: string, m: GroupMemberRef): Promise<void> {
    await this.run(group, 'group.heartbeat', { member: m.memberId, generation: m.generation });
  }

  async leave(group: string, memberId: string): Promise<void> {
    await this.run(group, 'group.leave', { member: memberId });
  }

  /** Commit offsets for the member's generation; resolves once durable. */
  async commitOffsets(group: string, m: GroupMemberRef, offsets: OffsetCommit[]): Promise<void> {
    await this.run(group, 'group.commitOffsets', { member: m.memberId, generation: m.generation, offsets });
  }

  /** Committed offsets (all, or of `partitions`; partitions never committed are absent). */
  async fetchOffsets(group: string, partitions?: Array<{ topic: string; partition: number }>): Promise<CommittedOffset[]> {
    return (await this.run(group, 'group.fetchOffsets', partitions === undefined ? {} : { partitions })).offsets;
  }

  /** A consumer helper for one member of `group` (see GroupMember). */
  member(group: string, o: MemberOptions): GroupMember {
    return new GroupMember(this, group, o);
  }
}

export interface MemberOptions extends Omit<JoinOptions, 'memberId' | 'protocols'> {
  /** The protocols; default: `range` over `topics`. */
  protocols?: JoinOptions['protocols'];
  /** For the built-in protocols: topic → partition count. */
  topics?: Record<string, number>;
  /** Leader of a custom protocol: compute every member's assignment from their metadata. */
  assign?(members: Array<{ memberId: string; metadata: Uint8Array }>, protocol: string): Array<{ memberId: string; assignment: Uint8Array }>;
}

/**
 * One consumer of a group: `await m.join()` runs join (re-polling PENDING)
 * and sync until it has an assignment; `heartbeat()` answers false when the
 * group rebalances (then `join()` again); `commit()` commits for the current
 * generation. Every wait is bounded by the rebalance timeout (plus the
 * session timeout for the sync).
 */
export class GroupMember {
  memberId: string | undefined;
  generation = 0;
  protocol = '';
  leader = '';
  assignment: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly api: GroupsApi,
    readonly group: string,
    private readonly o: MemberOptions,
  ) {}

  private get ref(): GroupMemberRef {
    if (this.memberId === undefined || this.generation === 0) throw new InvalidArgumentError('join the group first');
    return { memberId: this.memberId, generation: this.generation };
  }

  /** For built-in protocols: topic → partitions of this member. */
  get partitions(): Record<string, number[]> {
    return parseAssignment(this.assignment);
  }

  /** Join (or rejoin) and sync until assigned. Rejects when the rebalance does not complete within its timeouts. */
  async join(): Promise<void> {
    const protocols = this.o.protocols ?? [{ name: 'range', metadata: subscription(this.o.topics ?? {}) }];
    const deadline = Date.now() + this.o.rebalanceTimeoutMs + this.o.sessionTimeoutMs;
    for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
      const j = await this.api.join(this.group, { ...this.o, protocols, ...(this.memberId === undefined ? {} : { memberId: this.memberId }) }).catch((err: unknown) => {
        if (err instanceof GroupUnknownMemberError) {
          this.memberId = undefined;
          return undefined;
        }
        throw err;
      });
      if (j === undefined) continue;
      this.memberId = j.memberId;
      if (j.status === 'PENDING') continue;
      this.generation = j.generation;
      this.protocol = j.protocol;
      this.leader = j.leader;
      const assignments = j.leader === j.memberId && this.o.assign !== undefined && !['range', 'roundrobin', 'sticky'].includes(j.protocol) ? this.o.assign(j.members, j.protocol) : undefined;
      const done = await this.syncUntil(assignments, deadline);
      if (done) return;
    }
    throw new GroupRebalanceInProgressError(ERROR_CODES.GROUP_REBALANCE_IN_PROGRESS, `group ${this.group}: no assignment within ${this.o.rebalanceTimeoutMs + this.o.sessionTimeoutMs} ms`);
  }

  private async syncUntil(assignments: Array<{ memberId: string; assignment: Uint8Array }> | undefined, deadline: number): Promise<boolean> {
    for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
      try {
        const s = await this.api.sync(this.group, this.ref, assignments);
        if (s.status === 'ASSIGNED') {
          this.assignment = s.assignment;
          return true;
        }
      } catch (err) {
        if (err instanceof GroupRebalanceInProgressError || err instanceof GroupIllegalGenerationError) return false;
        if (err instanceof GroupUnknownMemberError) {
          this.memberId = undefined;
          return false;
        }
        throw err;
      }
    }
    return false;
  }

  /** Heartbeat: true while the generation stands, false when the member must `join()` again. */
  async heartbeat(): Promise<boolean> {
    try {
      await this.api.heartbeat(this.group, this.ref);
      return true;
    } catch (err) {
      if (err instanceof GroupRebalanceInProgressError || err instanceof GroupIllegalGenerationError) return false;
      if (err instanceof GroupUnknownMemberError) {
        this.memberId = undefined;
        return false;
      }
      throw err;
    }
  }

  commit(offsets: OffsetCommit[]): Promise<void> {
    return this.api.commitOffsets(this.group, this.ref, offsets);
  }

  async leave(): Promise<void> {
    if (this.memberId === undefined) return;
    const id = this.memberId;
    this.memberId = undefined;
    this.generation = 0;
    await this.api.leave(this.group, id).catch((err: unknown) => {
      if (!(err instanceof GroupUnknownMemberError)) throw err;
    });
  }
}
