/**
 * Server frames a client must decode: every hello, every op's answer, every
 * error code (also those no request can provoke on purpose: SHARD_UNAVAILABLE,
 * SHUTTING_DOWN, INTERNAL), IDs at the edges of uint64.
 */
import { encodeFrame, ERROR_CODES } from '../../src/index.js';
import { toTagged, type DecodingFile, type DecodingVector } from '../../src/testing.js';

const EPOCH_MS = 1735689600000;
const LIMITS = { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 };
const ID = 503178002017722368n;
const MAX_ID = 2n ** 64n - 1n;

function frame(name: string, meaning: string, value: Record<string, unknown>): DecodingVector {
  return { name, frame: encodeFrame(value).toString('hex'), value: toTagged(value), meaning };
}

const hello = (service: string, layout: Record<string, unknown>, shards: Array<[number, number]>): DecodingVector =>
  frame(`hello of ${service}`, 'hello', { t: 'hello', v: 1, service, shards, layout: { ...layout, epochMs: EPOCH_MS, unitMs: 1 }, limits: LIMITS, server: 'pharaoh/0.1.0' });

const okFrame = (name: string, id: number, ok: Record<string, unknown>): DecodingVector => frame(name, 'ok', { t: 'res', id, ok });

const DETAILS: Partial<Record<string, Record<string, unknown>>> = {
  BAD_REQUEST: { field: 'count' },
  NOT_OWNER: { shards: [[0, 255], [512, 512]], shard: 300 },
  SHARD_UNAVAILABLE: { shard: 7 },
  UNSUPPORTED_VERSION: { supported: [1] },
};

export const responses: DecodingFile = {
  title: 'Server frames',
  description:
    'Frames as the server writes them (smallest encodings; IDs as uint64) and what they decode to. ' +
    'A client must decode each, turn `ok` answers into results and `err` answers into its typed errors by `code`.',
  frames: [
    hello('tso', { name: 'tso', timeBits: 41, shardBits: 10, seqBits: 13 }, [[0, 1023]]),
    hello('txcoord', { name: 'tx', timeBits: 42, shardBits: 10, seqBits: 12 }, [[0, 255], [512, 512]]),
    hello('session-mgr', { name: 'session', timeBits: 42, shardBits: 10, seqBits: 12 }, []),
    hello('schema-registry', { name: 'schema', timeBits: 42, shardBits: 10, seqBits: 12 }, [[0, 7]]),
    okFrame('ping', 1, { now: 1764756000123 }),
    okFrame('ts.get', 2, { first: ID, count: 100 }),
    okFrame('ts.get with the largest ID', 3, { first: MAX_ID, count: 1 }),
    okFrame('ts.get with a small ID (still uint64 on the wire)', 4, { first: 5n, count: 1 }),
    okFrame('tx.begin', 5, { txId: ID, startTs: ID + 1n, timeoutMs: 10000 }),
    okFrame('tx.commit', 6, { commitTs: ID + 2n }),
    okFrame('tx.abort', 7, {}),
    ...['ACTIVE', 'COMMITTED', 'ABORTED', 'UNKNOWN'].map((status, i) => okFrame(`tx.status ${status}`, 8 + i, { status })),
    okFrame('tx.heartbeat', 12, { timeoutMs: 10000 }),
    okFrame('tx.status IN_DOUBT (a shard restored from a backup)', 21, { status: 'IN_DOUBT' }),
    okFrame('tx.resolve', 22, { status: 'COMMITTED' }),
    okFrame('session.open', 13, { sessionId: ID, epoch: 3, timeoutMs: 30000 }),
    okFrame('session.heartbeat', 14, { timeoutMs: 30000 }),
    okFrame('session.close', 15, {}),
    ...['OK', 'FENCED', 'EXPIRED', 'UNKNOWN'].map((status, i) => okFrame(`session.validate ${status}`, 16 + i, { status })),
    hello('group-coord', { name: 'group', timeBits: 42, shardBits: 10, seqBits: 12 }, [[0, 1023]]),
    okFrame('group.join JOINED (the leader: members listed)', 30, {
      status: 'JOINED', memberId: 'a', generation: 60_000_000, leader: 'a', protocol: 'range',
      members: [{ memberId: 'a', metadata: new TextEncoder().encode('{"topics":{"t":2}}') }],
    }),
    okFrame('group.join PENDING', 31, { status: 'PENDING', memberId: 'b', generation: 0, leader: '', protocol: '', members: [] }),
    okFrame('group.sync ASSIGNED', 32, { status: 'ASSIGNED', protocol: 'range', assignment: new TextEncoder().encode('{"t":[0,1]}') }),
    okFrame('group.sync PENDING', 33, { status: 'PENDING', protocol: 'mine', assignment: new Uint8Array(0) }),
    okFrame('group.heartbeat, group.leave, group.commitOffsets', 34, {}),
    okFrame('group.fetchOffsets', 35, { offsets: [{ topic: 't', partition: 0, offset: 2 ** 40, metadata: '' }] }),
    okFrame('schema.register', 22, { schemaId: ID, version: 1 }),
    okFrame('schema.get', 23, { subject: 'orders-value', version: 1, schema: '{"type":"string"}', format: 'AVRO' }),
    okFrame('schema.versions', 24, { versions: [{ version: 1, schemaId: ID }, { version: 2, schemaId: ID + 4096n }] }),
    okFrame('schema.latest', 25, { schemaId: ID + 4096n, version: 2, schema: 'syntax = "proto3";', format: 'PROTOBUF' }),
    okFrame('admin.info', 20, {
      service: 'tso',
      server: 'pharaoh/0.1.0',
      pid: 4242,
      uptimeMs: 123456,
      shards: [[0, 1023]],
      unavailable: [7],
      connections: 3,
      inFlight: 0,
      bufferedBytes: 0,
      maxBufferedBytes: 0,
      limits: { ...LIMITS, maxConnections: 10000, highWaterBytes: 1048576, pingIntervalMs: 30000, idleTimeoutMs: 300000 },
      tls: false,
      auth: true,
    }),
    ...Object.values(ERROR_CODES).map((code, i) =>
      frame(`error ${code}`, code, { t: 'res', id: 100 + i, err: { code, message: `what went wrong (${code})`, ...(DETAILS[code] ?? {}) } }),
    ),
    frame('error about a request whose id could not be read (id nil)', ERROR_CODES.BAD_REQUEST, {
      t: 'res',
      id: null,
      err: { code: ERROR_CODES.BAD_REQUEST, message: 'id must be an integer in 0..4294967295; it is missing', field: 'id' },
    }),
    frame('error with a code this client does not know (treat as INTERNAL, keep the code in the message)', 'SOME_FUTURE_CODE', {
      t: 'res',
      id: 200,
      err: { code: 'SOME_FUTURE_CODE', message: 'a newer server' },
    }),
  ],
};
