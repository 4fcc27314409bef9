/** Every op of schema-registry: identity by canonical form, versions, reads, SCHEMA_* errors, ownership, limits. */
import { shardForKey } from '../../src/index.js';
import type { VectorFile } from '../../src/testing.js';
import { producerIn } from './cases-services.js';
import { bad, err, kase, ok } from './dsl.js';
import { int, request, str } from './wire.js';

const NOT_HOSTED = 100;
/** A SCHEMA-layout ID (42|10|12): `time << 22 | shard << 12 | seq`. */
const id42 = (time: bigint, shard: number): bigint => (time << 22n) | (BigInt(shard) << 12n);
/** Far in the future on hosted shard 0: never issued, so unknown. */
const FUTURE = id42(2n ** 42n - 1n, 0);
const u64 = (n: bigint): string => int(n, 'u64');

const reg = (id: number, subject: string, schema: string, format: string, shard = shardForKey(subject)): string =>
  request(id, 'schema.register', [['shard', int(shard)], ['subject', str(subject)], ['schema', str(schema)], ['format', str(format)]]);
const bySubject = (id: number, op: string, subject: string, shard = shardForKey(subject)): string => request(id, op, [['shard', int(shard)], ['subject', str(subject)]]);
const get = (id: number, schemaId: string): string => request(id, 'schema.get', [['schemaId', schemaId]]);

const ORDERS = producerIn(0, 7, 'orders-value-');
const CANON = producerIn(0, 7, 'canonical-');
const CANON_JSON = producerIn(0, 7, 'canonical-json-');
const LIMITED = producerIn(0, 7, 'limited-');
const UNKNOWN = producerIn(0, 7, 'never-registered-');
const FOREIGN = producerIn(0, 7, 'foreign-');
const USER_V1 = '{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}';
const USER_V1_PRETTY = '{\n  "fields": [ { "type": "long", "name": "id" } ],\n  "name": "User",\n  "type": "record"\n}\n';
const USER_V2 = '{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}';
const PROTO = 'syntax = "proto3";\nmessage User { int64 id = 1; }';

export const schemaRegistry: VectorFile = {
  title: 'schema-registry',
  description: 'schema.register, schema.get, schema.versions, schema.latest: one id and version per canonical schema, versions, SCHEMA_NOT_FOUND, SCHEMA_LIMIT, subjects and ids of other shards.',
  cases: [
    kase(`register two versions of "${ORDERS}" (shard ${shardForKey(ORDERS)}), again in other spellings, and read them back`, ['schema-registry'], [
      { send: reg(1, ORDERS, USER_V1, 'AVRO'), expect: ok(1, { schemaId: '$u64', version: 1 }), capture: { a: 'schemaId' } },
      { send: reg(2, ORDERS, USER_V1_PRETTY, 'AVRO'), expect: ok(2, { schemaId: { $var: 'a' }, version: 1 }), note: 'same canonical form (RFC 8785): same id and version, nothing written' },
      { send: reg(3, ORDERS, USER_V2, 'AVRO'), expect: ok(3, { schemaId: { $gt: 'a' }, version: 2 }), capture: { b: 'schemaId' } },
      { send: get(4, '{a}'), expect: ok(4, { subject: ORDERS, version: 1, schema: USER_V1, format: 'AVRO' }), note: 'the text as first registered' },
      { send: bySubject(5, 'schema.versions', ORDERS), expect: ok(5, { versions: [{ version: 1, schemaId: { $var: 'a' } }, { version: 2, schemaId: { $var: 'b' } }] }) },
      { send: bySubject(6, 'schema.latest', ORDERS), expect: ok(6, { schemaId: { $var: 'b' }, version: 2, schema: USER_V2, format: 'AVRO' }) },
      { send: reg(7, ORDERS, USER_V1, 'AVRO'), expect: ok(7, { schemaId: { $var: 'a' }, version: 1 }), note: 'an older schema again keeps its version' },
      { send: bySubject(8, 'schema.latest', ORDERS), expect: ok(8, { schemaId: { $var: 'b' }, version: 2 }), note: 'and does not become the latest' },
    ]),
    kase('canonical forms: PROTOBUF trims outer ASCII whitespace only; the same text in another format is another schema', ['schema-registry'], [
      { send: reg(1, CANON, PROTO, 'PROTOBUF'), expect: ok(1, { schemaId: '$u64', version: 1 }), capture: { p: 'schemaId' } },
      { send: reg(2, CANON, ` \n\t${PROTO}\r\n`, 'PROTOBUF'), expect: ok(2, { schemaId: { $var: 'p' }, version: 1 }) },
      { send: reg(3, CANON, PROTO.replace('User {', 'User  {'), 'PROTOBUF'), expect: ok(3, { schemaId: { $gt: 'p' }, version: 2 }), note: 'inner whitespace counts' },
      { send: reg(4, CANON_JSON, '{"a":1,"b":[1,2]}', 'JSON'), expect: ok(4, { schemaId: '$u64', version: 1 }), capture: { j: 'schemaId' } },
      { send: reg(5, CANON_JSON, '{ "b" : [1, 2.0], "a" : 1e0 }', 'JSON'), expect: ok(5, { schemaId: { $var: 'j' }, version: 1 }), note: 'RFC 8785: keys sorted, numbers as ECMAScript prints them (2.0 is 2, 1e0 is 1)' },
      { send: reg(6, CANON_JSON, '{"a":1,"b":[1,2]}', 'AVRO'), expect: ok(6, { schemaId: { $gt: 'j' }, version: 2 }), note: 'same text, other format: another schema' },
    ]),
    kase('bad input gets BAD_REQUEST naming the field; nothing is registered', ['schema-registry'], [
      { send: reg(1, UNKNOWN, '{}', 'XML'), expect: bad(1, 'format') },
      { send: reg(2, UNKNOWN, '{}', 'json'), expect: bad(2, 'format'), note: 'formats are case-sensitive' },
      { send: reg(3, UNKNOWN, '{"a":', 'JSON'), expect: bad(3, 'schema'), note: 'not JSON' },
      { send: reg(4, UNKNOWN, 'record User {}', 'AVRO'), expect: bad(4, 'schema'), note: 'an Avro schema is JSON' },
      { send: reg(5, UNKNOWN, ' \n\t ', 'PROTOBUF'), expect: bad(5, 'schema'), note: 'only whitespace' },
      { send: reg(6, UNKNOWN, '['.repeat(65) + ']'.repeat(65), 'JSON'), expect: bad(6, 'schema'), note: 'nests deeper than 64' },
      { send: reg(7, UNKNOWN, '"\\ud800"', 'JSON'), expect: bad(7, 'schema'), note: 'a lone surrogate has no RFC 8785 form' },
      { send: reg(8, '', '{}', 'JSON', 0), expect: bad(8, 'subject') },
      { send: reg(9, 'x'.repeat(256), '{}', 'JSON', 0), expect: bad(9, 'subject'), note: 'a name is at most 255 bytes' },
      { send: request(10, 'schema.register', [['shard', int(0)], ['subject', str(UNKNOWN)], ['format', str('JSON')]]), expect: bad(10, 'schema') },
      { send: request(11, 'schema.register', [['shard', int(0)], ['subject', str(UNKNOWN)], ['schema', str('')], ['format', str('JSON')]]), expect: bad(11, 'schema'), note: 'text is 1..65536 bytes' },
      { send: request(12, 'schema.get', [['schemaId', str('1')]]), expect: bad(12, 'schemaId') },
      { send: bySubject(13, 'schema.latest', UNKNOWN), expect: err(13, 'SCHEMA_NOT_FOUND'), note: 'none of the above registered anything' },
    ]),
    kase('an unknown subject or schemaId gets SCHEMA_NOT_FOUND', ['schema-registry'], [
      { send: bySubject(1, 'schema.latest', UNKNOWN), expect: err(1, 'SCHEMA_NOT_FOUND') },
      { send: bySubject(2, 'schema.versions', UNKNOWN), expect: err(2, 'SCHEMA_NOT_FOUND') },
      { send: get(3, u64(FUTURE)), expect: err(3, 'SCHEMA_NOT_FOUND') },
    ]),
    kase('a subject sent to another shard, a shard not hosted, or a schemaId of one, gets NOT_OWNER', ['schema-registry'], [
      { send: reg(1, FOREIGN, '{}', 'JSON', (shardForKey(FOREIGN) + 1) % 8), expect: err(1, 'NOT_OWNER', { shard: shardForKey(FOREIGN), shards: [[0, 7]] }) },
      { send: bySubject(2, 'schema.latest', FOREIGN, (shardForKey(FOREIGN) + 1) % 8), expect: err(2, 'NOT_OWNER', { shard: shardForKey(FOREIGN), shards: [[0, 7]] }) },
      { send: bySubject(3, 'schema.versions', FOREIGN, NOT_HOSTED), expect: err(3, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
      { send: get(4, u64(id42(1n, NOT_HOSTED))), expect: err(4, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
    ]),
    kase('past --max-versions (setup: 3) a new version gets SCHEMA_LIMIT; known schemas still answer', ['schema-registry'], [
      { send: reg(1, LIMITED, '{"v":1}', 'JSON'), expect: ok(1, { version: 1 }), capture: { a: 'schemaId' } },
      { send: reg(2, LIMITED, '{"v":2}', 'JSON'), expect: ok(2, { version: 2 }) },
      { send: reg(3, LIMITED, '{"v":3}', 'JSON'), expect: ok(3, { version: 3 }) },
      { send: reg(4, LIMITED, '{"v":4}', 'JSON'), expect: err(4, 'SCHEMA_LIMIT') },
      { send: reg(5, LIMITED, '{ "v": 1 }', 'JSON'), expect: ok(5, { schemaId: { $var: 'a' }, version: 1 }) },
    ]),
    kase('schema-registry answers UNKNOWN_OP to the ops of other services', ['schema-registry'], [
      { send: request(1, 'tx.begin', [['shard', int(0)]]), expect: err(1, 'UNKNOWN_OP') },
      { send: request(2, 'session.open', [['shard', int(0)]]), expect: err(2, 'UNKNOWN_OP') },
    ]),
    kase('the hello of schema-registry', ['schema-registry'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'schema-registry',
        shards: [[0, 7]],
        layout: { name: 'schema', timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};
