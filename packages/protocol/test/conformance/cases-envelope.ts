/** The request envelope (`id`, `op`, `v`), roles, and what a map that is not a request gets. */
import type { VectorFile } from '../../src/testing.js';
import { ALL, bad, err, kase, ok } from './dsl.js';
import { arr, bin, f64, FALSE, formsOf, int, map, NIL, request, str, TRUE } from './wire.js';

const PING_OK = { now: '$uint' };

const versionForms = formsOf(1).map((form) =>
  kase(`v = 1 written as ${form} is accepted`, ALL, [{ send: request(1, 'ping', [['v', int(1, form)]]), expect: ok(1, PING_OK) }]),
);

const idForms = formsOf(9).map((form) =>
  kase(`id = 9 written as ${form} is echoed as 9`, ALL, [{ send: map([['id', int(9, form)], ['op', str('ping')]]), expect: ok(9, PING_OK) }]),
);

/** `[[[...1...]]]`: `depth` nested fixarrays around 1. */
const nested = (depth: number): string => '91'.repeat(depth) + '01';

export const envelope: VectorFile = {
  title: 'Request envelope',
  description: 'id, op and v in every form; what is refused and how; the connection stays usable after an error frame.',
  cases: [
    kase('ping answers the server clock as an integer', ALL, [{ send: request(1, 'ping'), expect: ok(1, PING_OK) }]),
    kase('the largest request id (2^32 - 1) is echoed', ALL, [{ send: request(4294967295, 'ping'), expect: ok(4294967295, PING_OK) }]),
    kase('id 0 is a valid request id', ALL, [{ send: request(0, 'ping'), expect: ok(0, PING_OK) }]),
    ...idForms,
    kase('v absent, v = 1 and v = nil are all accepted', ALL, [
      { send: request(1, 'ping'), expect: ok(1, PING_OK) },
      { send: request(2, 'ping', [['v', int(1)]]), expect: ok(2, PING_OK) },
      { send: request(3, 'ping', [['v', NIL]]), expect: ok(3, PING_OK) },
    ]),
    ...versionForms,
    kase('an integer version not spoken gets UNSUPPORTED_VERSION listing the supported ones', ALL, [
      { send: request(1, 'ping', [['v', int(2)]]), expect: err(1, 'UNSUPPORTED_VERSION', { supported: [1] }) },
      { send: request(2, 'ping', [['v', int(0)]]), expect: err(2, 'UNSUPPORTED_VERSION', { supported: [1] }) },
      { send: request(3, 'ping', [['v', int(-1)]]), expect: err(3, 'UNSUPPORTED_VERSION', { supported: [1] }) },
      { send: request(4, 'ping', [['v', int(2n ** 64n - 1n, 'u64')]]), expect: err(4, 'UNSUPPORTED_VERSION', { supported: [1] }) },
      { send: request(5, 'ping'), expect: ok(5, PING_OK), note: 'the connection stays usable' },
    ]),
    kase('a version that is not an integer gets BAD_REQUEST naming v', ALL, [
      { send: request(1, 'ping', [['v', str('1')]]), expect: bad(1, 'v'), note: 'a string' },
      { send: request(2, 'ping', [['v', arr([int(1)])]]), expect: bad(2, 'v'), note: 'an array' },
      { send: request(3, 'ping', [['v', map([['toString', str('x')]])]]), expect: bad(3, 'v'), note: 'a map with a toString key' },
      { send: request(4, 'ping', [['v', f64(1)]]), expect: bad(4, 'v'), note: 'the float 1.0' },
      { send: request(5, 'ping', [['v', TRUE]]), expect: bad(5, 'v'), note: 'a boolean' },
      { send: request(6, 'ping', [['v', bin('01')]]), expect: bad(6, 'v'), note: 'binary' },
      { send: request(7, 'ping', [['v', nested(30)]]), expect: bad(7, 'v'), note: 'an array nested 30 deep' },
      { send: request(8, 'ping'), expect: ok(8, PING_OK), note: 'the connection stays usable' },
    ]),
    kase('a version nested thousands of levels deep closes the connection with 1007 (nesting limit 32)', ALL, [
      { send: request(1, 'ping', [['v', nested(3000)]]), expect: { close: 1007 } },
    ]),
    kase('a request id that is not a uint32 gets BAD_REQUEST naming id, answered with id nil', ALL, [
      { send: map([['id', int(-1)], ['op', str('ping')]]), expect: bad(null, 'id') },
      { send: map([['id', int(2 ** 32, 'u64')], ['op', str('ping')]]), expect: bad(null, 'id') },
      { send: map([['id', f64(9)], ['op', str('ping')]]), expect: bad(null, 'id'), note: '9.0 is a float, not an integer' },
      { send: map([['id', str('9')], ['op', str('ping')]]), expect: bad(null, 'id') },
      { send: map([['id', NIL], ['op', str('ping')]]), expect: bad(null, 'id') },
      { send: map([['op', str('ping')]]), expect: bad(null, 'id'), note: 'no id at all' },
      { send: request(9, 'ping'), expect: ok(9, PING_OK) },
    ]),
    kase('a frame that is not a map gets BAD_REQUEST with id nil and no field', ALL, [
      { send: arr([int(1), str('ping')]), expect: bad(null, undefined) },
      { send: NIL, expect: bad(null, undefined) },
      { send: int(42), expect: bad(null, undefined) },
      { send: str('ping'), expect: bad(null, undefined) },
      { send: bin('0102'), expect: bad(null, undefined) },
      { send: FALSE, expect: bad(null, undefined) },
      { send: request(1, 'ping'), expect: ok(1, PING_OK) },
    ]),
    kase('op must be a string of 1..64 bytes: else BAD_REQUEST naming op', ALL, [
      { send: map([['id', int(1)]]), expect: bad(1, 'op') },
      { send: map([['id', int(2)], ['op', int(7)]]), expect: bad(2, 'op') },
      { send: map([['id', int(3)], ['op', str('')]]), expect: bad(3, 'op') },
      { send: map([['id', int(4)], ['op', str('x'.repeat(65))]]), expect: bad(4, 'op') },
      { send: map([['id', int(5)], ['op', str('€'.repeat(22))]]), expect: bad(5, 'op'), note: '22 characters, 66 bytes' },
      { send: map([['id', int(6)], ['op', bin('70696e67')]]), expect: bad(6, 'op'), note: 'binary "ping" is not a string' },
      { send: map([['id', int(7)], ['op', NIL]]), expect: bad(7, 'op') },
    ]),
    kase('an op the service does not know gets UNKNOWN_OP', ALL, [
      { send: request(1, 'nope'), expect: err(1, 'UNKNOWN_OP') },
      { send: request(2, 'x'.repeat(64)), expect: err(2, 'UNKNOWN_OP'), note: '64 bytes: the longest op name checked' },
      { send: request(3, '__proto__'), expect: err(3, 'UNKNOWN_OP') },
      { send: request(4, 'toString'), expect: err(4, 'UNKNOWN_OP') },
      { send: request(5, 'constructor'), expect: err(5, 'UNKNOWN_OP') },
      { send: request(6, 'PING'), expect: err(6, 'UNKNOWN_OP'), note: 'op names are case-sensitive' },
    ]),
    kase('version is checked before op: an unsupported v with an unknown op gets UNSUPPORTED_VERSION', ALL, [
      { send: request(1, 'some.future.op', [['v', int(2)]]), expect: err(1, 'UNSUPPORTED_VERSION', { supported: [1] }) },
    ]),
    kase('unknown keys are ignored, whatever they hold (a __proto__ key included)', ALL, [
      { send: request(1, 'ping', [['extra', map([['deep', arr([NIL, f64(1.5), bin('00')])]])], ['__proto__', map([['shard', int(1)]])]]), expect: ok(1, PING_OK) },
      { send: request(2, 'ping', [['shard', str('not a shard')], ['count', f64(-1)]]), expect: ok(2, PING_OK), note: 'fields of other ops are unknown keys for ping' },
    ]),
    kase('admin.info answers an admin token with the state of the process', ALL, [
      {
        send: request(1, 'admin.info'),
        expect: ok(1, {
          service: '$string',
          server: '$string',
          pid: '$uint',
          uptimeMs: '$uint',
          shards: [[0, 7]],
          unavailable: [],
          connections: '$uint',
          inFlight: '$uint',
          bufferedBytes: '$uint',
          maxBufferedBytes: '$uint',
          limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
          tls: false,
          auth: true,
        }),
      },
    ]),
    kase('admin.info answers a client token with FORBIDDEN; the connection stays usable', ALL, [
      { send: request(1, 'admin.info'), expect: err(1, 'FORBIDDEN') },
      { send: request(2, 'ping'), expect: ok(2, PING_OK) },
    ], { token: 'client' }),
    kase('an upgrade without a token is refused with HTTP 401 (no WebSocket, no hello)', ALL, [], { token: 'none', httpStatus: 401 }),
  ],
};
