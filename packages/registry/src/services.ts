/**
 * THE service registry: every Pharaoh service, once. The server (ops, layout,
 * routing), the client (layouts, typed calls, routing), the CLI (`serve`,
 * `fleet`, `decode`, the default fleet, `fleet k8s`), the deploy checks and
 * the docs tables are derived from this list; tools/cli/test/registry.test.ts
 * fails when any of them disagrees. A new coordinator is one entry here plus
 * its folder `apps/<name>/` (see "Adding a coordinator" in docs/DESIGN.md).
 */
import { CDC_LAYOUT, SCHEMA_LAYOUT, SESSION_LAYOUT, TSO_LAYOUT, TX_LAYOUT, defineLayout } from '@pharaoh/snowflake';
import { defineService, Registry, type ServiceResult } from './define.js';

/** Timestamps: `ts.get` → a range of consecutive TSO-layout timestamps. */
export const TSO = defineService({
  name: 'tso',
  title: 'Timestamp Oracle',
  layout: TSO_LAYOUT,
  ports: { ws: 7100, http: 7101 },
  shardsPerPod: 256,
  pods: { cpu: '500m', storage: '1Gi', storageWhy: 'tso keeps sparse counters only.' },
  ops: {
    'ts.get': {
      fields: [['shard', 'shard', false], ['count', 'count', false], ['after', 'id', true]],
      result: { first: 'id', count: 'uint' },
      route: 'shard',
      issues: 'count',
    },
  },
});

/** Why a journaled service's pods get 10 GiB. */
const JOURNAL_STORAGE = 'Each shard journal grows to 16 MiB before compaction: 512 x 16 MiB = 8 GiB at worst (docs/OPERATIONS.md, "Capacity").';

/** IN_DOUBT: the shard was restored and the decision may postdate the backup (see ERROR_CODES.TX_IN_DOUBT). */
const TX_STATUS = ['ACTIVE', 'COMMITTED', 'ABORTED', 'UNKNOWN', 'IN_DOUBT'] as const;

/** Transactions: presumed abort, decisions journaled before they are answered. */
export const TXCOORD = defineService({
  name: 'txcoord',
  title: 'Transaction Coordinator',
  layout: TX_LAYOUT,
  ports: { ws: 7200, http: 7201 },
  shardsPerPod: 512,
  pods: { cpu: '1', storage: '10Gi', storageWhy: JOURNAL_STORAGE },
  ops: {
    'tx.begin': {
      fields: [['shard', 'shard', false], ['timeoutMs', 'timeoutMs', true], ['after', 'id', true]],
      result: { txId: 'id', startTs: 'id', timeoutMs: 'uint' },
      route: 'shard',
      issues: 1,
    },
    'tx.commit': { fields: [['txId', 'id', false]], result: { commitTs: 'id' }, route: { id: 'txId' }, issues: 1 },
    'tx.abort': { fields: [['txId', 'id', false]], result: {}, route: { id: 'txId' }, issues: 0 },
    'tx.status': { fields: [['txId', 'id', false]], result: { status: TX_STATUS }, route: { id: 'txId' }, issues: 0 },
    'tx.heartbeat': { fields: [['txId', 'id', false]], result: { timeoutMs: 'uint' }, route: { id: 'txId' }, issues: 0 },
    /** An operator records the outcome of an IN_DOUBT transaction, read from its participants (admin only). */
    'tx.resolve': {
      fields: [['txId', 'id', false], ['commit', 'bool', false], ['commitTs', 'id', true]],
      result: { status: TX_STATUS },
      route: { id: 'txId' },
      issues: 0,
      admin: true,
    },
  },
});

const SESSION_STATUS = ['OK', 'FENCED', 'EXPIRED', 'UNKNOWN'] as const;
const SESSION_REF = [['sessionId', 'id', false], ['epoch', 'epoch', false]] as const;

/** Producer sessions (Kafka's InitProducerId): epochs and fencing, journaled. */
export const SESSION_MGR = defineService({
  name: 'session-mgr',
  title: 'Session Manager',
  layout: SESSION_LAYOUT,
  ports: { ws: 7300, http: 7301 },
  shardsPerPod: 512,
  pods: { cpu: '1', storage: '10Gi', storageWhy: JOURNAL_STORAGE },
  ops: {
    'session.open': {
      fields: [['shard', 'shard', false], ['producer', 'producer', true], ['timeoutMs', 'timeoutMs', true], ['after', 'id', true]],
      result: { sessionId: 'id', epoch: 'uint', timeoutMs: 'uint' },
      route: 'shard',
      issues: 1,
    },
    'session.heartbeat': { fields: SESSION_REF, result: { timeoutMs: 'uint' }, route: { id: 'sessionId' }, issues: 0 },
    'session.close': { fields: SESSION_REF, result: {}, route: { id: 'sessionId' }, issues: 0 },
    'session.validate': { fields: SESSION_REF, result: { status: SESSION_STATUS }, route: { id: 'sessionId' }, issues: 0 },
  },
});

/**
 * group-coord issues no IDs today; its layout names the shard space of the
 * service (hello, identity files) and its epoch is what generations count
 * seconds from. Same shape as TX; a separate name so nothing is mixed up.
 */
export const GROUP_LAYOUT = defineLayout({ name: 'group', timeBits: 42, shardBits: 10, seqBits: 12 });

/** Items of one `group.commitOffsets` / `group.fetchOffsets` the wire allows (the server's `--max-offsets-per-commit` is smaller). */
const MAX_OFFSETS_WIRE = 10_000;
const GROUP_MEMBER = [['shard', 'shard', false], ['group', 'name', false], ['member', 'name', false]] as const;
const GROUP_GENERATION = [...GROUP_MEMBER, ['generation', 'uint', false]] as const;

/** Consumer groups (Kafka's group coordinator): membership, generations, assignments and committed offsets, journaled. */
export const GROUP_COORD = defineService({
  name: 'group-coord',
  title: 'Consumer Group Coordinator',
  layout: GROUP_LAYOUT,
  ports: { ws: 7400, http: 7401 },
  shardsPerPod: 512,
  pods: { cpu: '1', storage: '10Gi', storageWhy: JOURNAL_STORAGE },
  ops: {
    'group.join': {
      fields: [
        ['shard', 'shard', false],
        ['group', 'name', false],
        ['member', 'name', true],
        ['protocols', { list: [['name', 'name', false], ['metadata', 'bytes', false]], max: 16 }, false],
        ['sessionTimeoutMs', 'timeoutMs', false],
        ['rebalanceTimeoutMs', 'timeoutMs', false],
      ],
      result: {
        status: ['JOINED', 'PENDING'],
        memberId: 'string',
        generation: 'uint',
        leader: 'string',
        protocol: 'string',
        members: { list: { memberId: 'string', metadata: 'bytes' } },
      },
      route: 'shard',
      issues: 0,
    },
    'group.sync': {
      fields: [...GROUP_GENERATION, ['assignments', { list: [['memberId', 'name', false], ['assignment', 'bytes', false]], max: 1_000 }, true]],
      result: { status: ['ASSIGNED', 'PENDING'], protocol: 'string', assignment: 'bytes' },
      route: 'shard',
      issues: 0,
    },
    'group.heartbeat': { fields: GROUP_GENERATION, result: {}, route: 'shard', issues: 0 },
    'group.leave': { fields: GROUP_MEMBER, result: {}, route: 'shard', issues: 0 },
    'group.commitOffsets': {
      fields: [
        ...GROUP_GENERATION,
        ['offsets', { list: [['topic', 'name', false], ['partition', 'uint', false], ['offset', 'uint', false], ['metadata', 'text', true]], max: MAX_OFFSETS_WIRE }, false],
      ],
      result: {},
      route: 'shard',
      issues: 0,
    },
    'group.fetchOffsets': {
      fields: [['shard', 'shard', false], ['group', 'name', false], ['partitions', { list: [['topic', 'name', false], ['partition', 'uint', false]], max: MAX_OFFSETS_WIRE }, true]],
      result: { offsets: { list: { topic: 'string', partition: 'uint', offset: 'uint', metadata: 'string' } } },
      route: 'shard',
      issues: 0,
    },
  },
});

/** The formats a schema may be registered in (canonical forms: apps/schema-registry/README.md). */
const SCHEMA_FORMAT = ['AVRO', 'PROTOBUF', 'JSON'] as const;
const SUBJECT_REF = [['shard', 'shard', false], ['subject', 'name', false]] as const;

/** Schema ids: per-subject versions, the same id for the same canonical schema, journaled. */
export const SCHEMA_REGISTRY = defineService({
  name: 'schema-registry',
  title: 'Schema-id Registry',
  layout: SCHEMA_LAYOUT,
  ports: { ws: 7500, http: 7501 },
  shardsPerPod: 512,
  pods: { cpu: '1', storage: '10Gi', storageWhy: JOURNAL_STORAGE },
  ops: {
    'schema.register': {
      fields: [...SUBJECT_REF, ['schema', 'text', false], ['format', 'name', false]],
      result: { schemaId: 'id', version: 'uint' },
      route: 'shard',
      // At most one: registering a known schema again issues none.
      issues: 1,
    },
    'schema.get': { fields: [['schemaId', 'id', false]], result: { subject: 'string', version: 'uint', schema: 'string', format: SCHEMA_FORMAT }, route: { id: 'schemaId' }, issues: 0 },
    'schema.versions': { fields: SUBJECT_REF, result: { versions: { list: { version: 'uint', schemaId: 'id' } } }, route: 'shard', issues: 0 },
    'schema.latest': { fields: SUBJECT_REF, result: { schemaId: 'id', version: 'uint', schema: 'string', format: SCHEMA_FORMAT }, route: 'shard', issues: 0 },
  },
});

/**
 * CDC event ids and partition offsets. `cdc.next`: a range of CDC-layout IDs,
 * per table strictly increasing (a table belongs to one shard). `offsets.assign`:
 * a dense range of per-partition offsets, journaled before it is answered.
 */
export const SEQUENCER = defineService({
  name: 'sequencer',
  title: 'CDC and offset sequencer',
  layout: CDC_LAYOUT,
  ports: { ws: 7600, http: 7601 },
  shardsPerPod: 512,
  pods: { cpu: '1', storage: '10Gi', storageWhy: JOURNAL_STORAGE },
  ops: {
    'cdc.next': {
      fields: [['shard', 'shard', false], ['table', 'name', false], ['count', 'count', true]],
      result: { first: 'id', count: 'uint' },
      route: 'shard',
      issues: 'count',
    },
    'offsets.assign': {
      // producerId + seq: the idempotency token (both or neither, Kafka's idempotent producer): a retry with the
      // token of the partition's last answer for that producer gets the same range (apps/sequencer/README.md).
      fields: [['shard', 'shard', false], ['partition', 'name', false], ['count', 'count', false], ['producerId', 'uint', true], ['seq', 'uint', true]],
      result: { first: 'uint', count: 'uint' },
      route: 'shard',
      issues: 0,
    },
  },
});

/** Every production service, in the order they are listed and started. */
export const REGISTRY = new Registry([TSO, TXCOORD, SESSION_MGR, GROUP_COORD, SCHEMA_REGISTRY, SEQUENCER]);

/** The name of a production service. */
export type ServiceName = (typeof REGISTRY.services)[number]['name'];

export type TxStatus = ServiceResult<typeof TXCOORD, 'tx.status'>['status'];
export type SessionStatus = ServiceResult<typeof SESSION_MGR, 'session.validate'>['status'];
