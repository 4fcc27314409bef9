/** Bytes: what plain msgpack the server reads, what it refuses (close codes), WebSocket-level rules, pings. */
import type { VectorFile } from '../../src/testing.js';
import { ALL, closes, kase, ok } from './dsl.js';
import { arr, f32, int, map, request, str, wsFrame } from './wire.js';

const PING_OK = { now: '$uint' };
/** `{id: 1, op: "ping", x: <hex>}` */
const pingWith = (valueHex: string): string => request(1, 'ping', [['x', valueHex]]);

const EXTENSIONS: Array<[string, string]> = [
  ['fixext 1 (msgpackr writes undefined this way)', 'd40000'],
  ['fixext 4 timestamp (type -1)', 'd6ff00000001'],
  ['fixext 8 timestamp (type -1)', 'd7ff0000000000000001'],
  ['ext 8 timestamp 96 (type -1)', 'c70cff000000000000000000000001'],
  ['fixext 16', 'd801' + '00'.repeat(16)],
  ['ext 16', 'c800010501'],
  ['ext 32', 'c9000000010501'],
  ['a msgpackr record definition (ext 0x72)', 'd47201'],
  ['a msgpackr bigint (ext 0x42)', 'c7084200000000000000ff'],
  ['a msgpackr Error (ext 0x65)', 'd46500'],
  ['a msgpackr RegExp (ext 0x78)', 'd47800'],
  ['a msgpackr Set (ext 0x73)', 'd47390'],
  ['a msgpackr typed array (ext 0x74)', 'c70374010203'],
  ['a msgpackr structured-clone reference (ext 0x70)', 'd47000'],
];

const BURST = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(4, '0'));

/** `depth` nested fixarrays around nil. */
const nested = (depth: number): string => '91'.repeat(depth) + 'c0';

export const msgpack: VectorFile = {
  title: 'msgpack and WebSocket framing',
  description:
    'A frame is one plain msgpack value: base types only, string map keys, no repeated key, valid UTF-8, nesting at most 32 deep. ' +
    'Anything else closes the connection with 1007; text frames 1003; oversized frames 1009; WebSocket protocol violations 1002.',
  cases: [
    ...EXTENSIONS.map(([name, hex]) => kase(`${name} as a map value closes with 1007`, ALL, [{ send: pingWith(hex), expect: closes(1007) }])),
    kase('an extension type as the whole frame closes with 1007', ALL, [{ send: 'd6ff00000001', expect: closes(1007) }]),
    kase('the never-used byte 0xc1 as a map value closes with 1007', ALL, [{ send: pingWith('c1'), expect: closes(1007) }]),
    kase('0xc1 as the whole frame closes with 1007', ALL, [{ send: 'c1', expect: closes(1007) }]),
    kase('0xc1 inside an array closes with 1007', ALL, [{ send: pingWith(arr(['01', 'c1'])), expect: closes(1007) }]),
    kase('0xc1 where a map key should be closes with 1007', ALL, [{ send: '83a2696401a26f70a470696e67c101', expect: closes(1007) }]),
    kase('a string that is not UTF-8 closes with 1007', ALL, [{ send: pingWith('a2c328'), expect: closes(1007) }]),
    kase('an op name that is not UTF-8 closes with 1007', ALL, [{ send: '82a2696401a26f70a4ff696e67', expect: closes(1007) }]),
    kase('a map key that is not a string closes with 1007', ALL, [{ send: '83a2696401a26f70a470696e670101', expect: closes(1007) }]),
    kase('a map key that repeats closes with 1007', ALL, [{ send: '83a2696401a26f70a470696e67a2696402', expect: closes(1007) }]),
    kase('truncated bytes close with 1007', ALL, [{ send: '82a2696401a26f70a470696e', expect: closes(1007) }]),
    kase('bytes after the first value close with 1007', ALL, [{ send: request(1, 'ping') + 'c0', expect: closes(1007) }]),
    kase('an empty binary frame closes with 1007', ALL, [{ send: '', expect: closes(1007) }]),
    kase('an array length larger than the frame closes with 1007', ALL, [{ send: pingWith('dd7fffffff'), expect: closes(1007) }]),
    kase('32 nested containers are accepted (the request map and 31 arrays)', ALL, [{ send: pingWith(nested(31)), expect: ok(1, PING_OK) }]),
    kase('33 nested containers close with 1007', ALL, [{ send: pingWith(nested(32)), expect: closes(1007) }]),
    kase('every string length form and map16 are read alike', ALL, [
      { send: map([['id', int(1)], ['op', str('ping', 's8')]]), expect: ok(1, PING_OK) },
      { send: map([['id', int(2)], ['op', str('ping', 's16')]]), expect: ok(2, PING_OK) },
      { send: map([['id', int(3)], ['op', str('ping', 's32')]]), expect: ok(3, PING_OK) },
      { send: 'de0002' + str('id') + int(4) + str('op') + str('ping'), expect: ok(4, PING_OK), note: 'map16' },
      { send: 'df00000002' + str('id') + int(5) + str('op') + str('ping'), expect: ok(5, PING_OK), note: 'map32' },
      { send: request(6, 'ping', [['f', f32(1.5)]]), expect: ok(6, PING_OK), note: 'a float32 in an unknown key' },
    ]),
    kase('a text frame closes with 1003', ALL, [{ sendText: '{"id":1,"op":"ping"}', expect: closes(1003) }]),
    kase('a text frame that is not UTF-8 closes with 1007', ALL, [{ sendRawWs: wsFrame(0x81, 'c328'), expect: closes(1007) }]),
    kase('a frame over limits.maxFrameBytes (65536) closes with 1009', ALL, [{ fill: { byte: 'c0', length: 65537 }, expect: closes(1009) }]),
    kase('a frame of exactly limits.maxFrameBytes is read (and refused as bytes after the first value)', ALL, [{ fill: { byte: 'c0', length: 65536 }, expect: closes(1007) }]),
    kase('an unmasked client frame closes with 1002', ALL, [{ sendRawWs: wsFrame(0x82, request(1, 'ping'), false), expect: closes(1002) }]),
    kase('a frame with a reserved bit set (no extension agreed) closes with 1002', ALL, [{ sendRawWs: wsFrame(0xc2, request(1, 'ping')), expect: closes(1002) }]),
    kase('an unknown opcode closes with 1002', ALL, [{ sendRawWs: wsFrame(0x83, '00'), expect: closes(1002) }]),
    kase('a control frame longer than 125 bytes closes with 1002', ALL, [{ sendRawWs: wsFrame(0x89, '00'.repeat(126)), expect: closes(1002) }]),
    kase('a ping gets a pong with the same payload; the connection stays usable', ALL, [
      { pings: ['68656c6c6f'], expect: { pongs: ['68656c6c6f'] } },
      { pings: [''], expect: { pongs: [''] } },
      { send: request(1, 'ping'), expect: ok(1, PING_OK) },
    ]),
    kase('a burst of 500 pings sent back to back gets 500 pongs, in order; the connection stays usable', ALL, [
      { pings: BURST, expect: { pongs: BURST } },
      { send: request(1, 'ping'), expect: ok(1, PING_OK) },
    ]),
  ],
};
