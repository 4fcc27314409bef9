import { describe, expect, it } from 'vitest';
import { refusal } from '../test/refusal.js';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from './codec.js';
import { ERROR_CODES, ProtocolError } from './errors.js';
import { MAX_BINARY_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES } from './limits.js';
import { WireFloat } from './msgpack/decode.js';
import { parseArgs, readResult, type ArgsOf, type OpSpec, type ResultOf } from './ops.js';

/** An op using every kind the newer services need (names, text, bytes, uint, bool, nested lists). */
const OP = {
  fields: [
    ['shard', 'shard', false],
    ['group', 'name', false],
    ['schema', 'text', true],
    ['meta', 'bytes', true],
    ['offset', 'uint', true],
    ['force', 'bool', true],
    ['items', { list: [['topic', 'name', false], ['partition', 'uint', false], ['tags', { list: [['k', 'name', false]], max: 2 }, true]], max: 3 }, true],
  ],
  result: { id: 'id', who: 'string', meta: 'bytes', leader: 'bool', members: { list: { member: 'string', gen: 'uint', data: 'bytes' } } },
  route: 'shard',
  issues: 0,
} as const satisfies OpSpec;


describe('field kinds: name, text, bytes, uint, bool and lists', () => {
  it('accepts each kind and types the arguments (lists as arrays of item maps)', () => {
    const args: ArgsOf<typeof OP> = parseArgs('g.x', OP, {
      shard: 2,
      group: 'orders',
      schema: '{"type":"string"}',
      meta: new Uint8Array([1, 2, 3]),
      offset: 2 ** 53 - 1,
      force: false,
      items: [{ topic: 't', partition: 0, extra: 'ignored' }, { topic: 'u', partition: 7, tags: [{ k: 'a' }] }],
    });
    expect(args.group).toBe('orders');
    expect(args.items).toEqual([{ topic: 't', partition: 0 }, { topic: 'u', partition: 7, tags: [{ k: 'a' }] }]);
    expect(args.meta).toEqual(new Uint8Array([1, 2, 3]));
    expect(args.force).toBe(false);
    expect(args.offset).toBe(2 ** 53 - 1);
  });

  it('round-trips through the wire codec (bin stays binary, lists stay lists)', () => {
    const sent = { shard: 1, group: 'g', meta: new Uint8Array([0, 255]), items: [{ topic: 'a', partition: 1 }] };
    expect(parseArgs('g.x', OP, decodeFrame(encodeFrame(sent)) as Record<string, unknown>)).toEqual(sent);
  });

  it('counts name and text lengths in UTF-8 bytes and bounds bytes', () => {
    expect(parseArgs('g.x', OP, { shard: 0, group: 'x'.repeat(MAX_NAME_BYTES) }).group).toHaveLength(MAX_NAME_BYTES);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'é'.repeat(128) })).message).toMatch(/group must be a string of 1\.\.255 bytes of UTF-8/);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: '' })).details.field).toBe('group');
    expect(parseArgs('g.x', OP, { shard: 0, group: 'g', schema: 'x'.repeat(MAX_TEXT_BYTES) }).schema).toHaveLength(MAX_TEXT_BYTES);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', schema: 'x'.repeat(MAX_TEXT_BYTES + 1) })).details.field).toBe('schema');
    expect(parseArgs('g.x', OP, { shard: 0, group: 'g', meta: new Uint8Array(0) }).meta).toHaveLength(0);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', meta: new Uint8Array(MAX_BINARY_BYTES + 1) })).message).toMatch(/meta must be binary data/);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', meta: 'AAE=' })).message).toMatch(/got a string/);
  });

  it('refuses uint outside 0..2^53-1, floats and non-booleans', () => {
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', offset: -1 })).details.field).toBe('offset');
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', offset: 2n ** 53n })).details.field).toBe('offset');
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', offset: new WireFloat(1) })).message).toMatch(/got a float/);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', force: 1 })).message).toMatch(/force must be a boolean; got 1/);
  });

  it('names the item and its field when a list item is wrong, and bounds list length', () => {
    const wrong = refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', items: [{ topic: 'a', partition: 1 }, { topic: 'b' }] }));
    expect(wrong.code).toBe(ERROR_CODES.BAD_REQUEST);
    expect(wrong.details.field).toBe('items[1].partition');
    expect(wrong.message).toBe('g.x: items[1].partition must be an integer in 0..9007199254740991; it is missing');
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', items: [1] })).message).toMatch(/items\[0\] must be a map; got 1/);
    const four = Array.from({ length: 4 }, () => ({ topic: 'a', partition: 1 }));
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', items: four })).message).toMatch(/items must be an array of at most 3 maps; got an array \(4 elements\)/);
    expect(refusal(() => parseArgs('g.x', OP, { shard: 0, group: 'g', items: [{ topic: 'a', partition: 1, tags: [{ k: 1 }] }] })).details.field).toBe('items[0].tags[0].k');
  });

  it('refuses any wrong value with BAD_REQUEST naming a field, never a JS word (property)', () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double().map((d) => new WireFloat(d)),
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 4 }),
      fc.array(fc.dictionary(fc.constantFrom('topic', 'partition', 'tags', 'k'), fc.oneof(fc.integer(), fc.string(), fc.constant(null))), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('shard', 'group', 'schema', 'meta', 'offset', 'force', 'items'), junk), (frame) => {
        try {
          parseArgs('g.x', OP, frame);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          const pe = e as ProtocolError;
          expect(pe.code).toBe(ERROR_CODES.BAD_REQUEST);
          expect(String(pe.details.field)).toMatch(/^(shard|group|schema|meta|offset|force|items(\[\d+\](\.(topic|partition|tags(\[\d+\](\.k)?)?))?)?)$/);
          expect(pe.message).not.toMatch(/bigint|Buffer|Uint8Array|undefined|\bobject\b|TypeError/);
        }
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('reads answers with string, bytes, bool and list fields, naming the item field that is wrong', () => {
    const ok = { id: 7, who: 'm-1', meta: new Uint8Array([9]), leader: true, members: [{ member: 'a', gen: 3, data: new Uint8Array(0), x: 1 }] };
    const r: ResultOf<typeof OP> = readResult('g.x', OP, ok);
    expect(r).toEqual({ id: 7n, who: 'm-1', meta: new Uint8Array([9]), leader: true, members: [{ member: 'a', gen: 3, data: new Uint8Array(0) }] });
    expect(() => readResult('g.x', OP, { ...ok, who: 1 })).toThrow(/who must be a string, got 1/);
    expect(() => readResult('g.x', OP, { ...ok, meta: 'x' })).toThrow(/meta must be binary data/);
    expect(() => readResult('g.x', OP, { ...ok, leader: 0 })).toThrow(/leader must be a boolean/);
    expect(() => readResult('g.x', OP, { ...ok, members: {} })).toThrow(/members must be an array of maps/);
    expect(() => readResult('g.x', OP, { ...ok, members: [3] })).toThrow(/members\[0\] must be a map/);
    expect(() => readResult('g.x', OP, { ...ok, members: [{ member: 'a', gen: -1, data: new Uint8Array(0) }] })).toThrow(/members\[0\]\.gen must be a non-negative integer/);
  });
});
