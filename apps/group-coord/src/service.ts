/**
 * group-coord as a ServiceDefinition: its registry entry, its options, one
 * GroupTable per shard (journal, replay, sweeps and compaction by the
 * server's journaled-shard kit) and thin handlers. Every op is routed by
 * `shardForKey(group)`; the table refuses groups of other shards (NOT_OWNER).
 */
import { GROUP_COORD, GROUP_LAYOUT } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard } from '@pharaoh/server';
import { GroupTable } from './group-table.js';
import { GROUP_OPTIONS, type GroupCoordOptions } from './options.js';

export type GroupShard = JournaledShard<GroupTable, GroupCoordOptions>;

export const groupService = defineJournaledService({
  spec: GROUP_COORD,
  options: GROUP_OPTIONS,
  openTable: (ctx, openJournal) =>
    GroupTable.open(
      {
        shard: ctx.id,
        clock: ctx.clock,
        // Generations count seconds from this layout's epoch; a restored shard fences every older one.
        layout: GROUP_LAYOUT,
        restored: ctx.restored,
        openJournal,
      },
      ctx.app,
    ),
  stats: (table) => ({ groups: table.stats.groups, groupMembers: table.stats.members }),
  handlers: {
    'group.join': (a, shard) =>
      shard.state.table.join({ group: a.group, member: a.member, protocols: a.protocols, sessionTimeoutMs: a.sessionTimeoutMs, rebalanceTimeoutMs: a.rebalanceTimeoutMs }),
    'group.sync': (a, shard) => shard.state.table.sync(a.group, a.member, a.generation, a.assignments),
    'group.heartbeat': (a, shard) => shard.state.table.heartbeat(a.group, a.member, a.generation),
    'group.leave': (a, shard) => shard.state.table.leave(a.group, a.member),
    'group.commitOffsets': (a, shard) => shard.state.table.commitOffsets(a.group, a.member, a.generation, a.offsets),
    'group.fetchOffsets': (a, shard) => shard.state.table.fetchOffsets(a.group, a.partitions),
  },
});

/** The name the CLI's `serve` loads. */
export { groupService as service };
