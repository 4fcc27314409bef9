/**
 * schema-registry as a ServiceDefinition: its registry entry, its options,
 * one SchemaTable per shard (journal, replay and compaction by the server's
 * journaled-shard kit) and thin handlers. The host routes each op as the
 * registry says (`schema.get` by the shard in the id's bits, the others by
 * shard); the table refuses subjects of other shards.
 */
import { SCHEMA_REGISTRY } from '@pharaoh/registry';
import { defineJournaledService, type JournaledShard } from '@pharaoh/server';
import { SCHEMA_OPTIONS, type SchemaRegistryOptions } from './options.js';
import { SchemaTable } from './schema-table.js';

export type SchemaShard = JournaledShard<SchemaTable, SchemaRegistryOptions>;

export const schemaService = defineJournaledService({
  spec: SCHEMA_REGISTRY,
  options: SCHEMA_OPTIONS,
  openTable: (ctx, openJournal) =>
    SchemaTable.open(
      {
        shard: ctx.id,
        ids: ctx.generator,
        clock: ctx.clock,
        // Versions after a restore count seconds from this layout's epoch; an id's time dates it against the restore.
        layout: SCHEMA_REGISTRY.layout,
        restored: ctx.restored,
        openJournal,
      },
      ctx.app,
    ),
  handlers: {
    'schema.register': (args, shard) => shard.state.table.register(args.subject, args.schema, args.format),
    'schema.get': (args, shard) => shard.state.table.get(args.schemaId),
    'schema.versions': (args, shard) => shard.state.table.versions(args.subject),
    'schema.latest': (args, shard) => shard.state.table.latest(args.subject),
  },
});

/** The name the CLI's `serve` loads. */
export { schemaService as service };
