import { describe, expect, it } from 'vitest';
import { canonicalForm, fingerprintOf, isSchemaFormat, MAX_SCHEMA_DEPTH, SCHEMA_FORMATS } from '../src/canonical.js';

describe('canonical forms', () => {
  it('canonicalises JSON and AVRO by RFC 8785: keys sorted, no whitespace, numbers as ECMAScript prints them', () => {
    const text = ' {\n  "type": "record",\n  "name": "User",\n  "fields": [ {"type": "long", "name": "id"} ],\n  "x": 1.50, "e": 1E3\n}\n';
    const want = '{"e":1000,"fields":[{"name":"id","type":"long"}],"name":"User","type":"record","x":1.5}';
    expect(canonicalForm('AVRO', text)).toBe(want);
    expect(canonicalForm('JSON', text)).toBe(want);
    // Array order is significant (Avro field order is part of the schema).
    expect(canonicalForm('JSON', '[2,1]')).toBe('[2,1]');
    // Strings use the minimal escapes: \u00e9 becomes the character itself, \/ becomes /.
    expect(canonicalForm('JSON', '"caf\\u00e9 \\/ x"')).toBe('"café / x"');
    // A bare JSON value is a schema too (Avro's "string").
    expect(canonicalForm('AVRO', ' "string" ')).toBe('"string"');
  });

  it('keeps the last value of a duplicated key, as JSON.parse does', () => {
    expect(canonicalForm('JSON', '{"a":1,"a":2}')).toBe('{"a":2}');
  });

  it('canonicalises PROTOBUF by trimming leading and trailing ASCII whitespace only', () => {
    expect(canonicalForm('PROTOBUF', '\n\t syntax = "proto3";\r\n ')).toBe('syntax = "proto3";');
    expect(canonicalForm('PROTOBUF', 'message A {  int64 id = 1; }')).toBe('message A {  int64 id = 1; }');
    // A no-break space is not ASCII whitespace: it stays.
    expect(canonicalForm('PROTOBUF', '\u00a0x')).toBe('\u00a0x');
  });

  it('refuses what is not a schema of its format as BAD_REQUEST naming the schema field', () => {
    const cases: Array<[Parameters<typeof canonicalForm>[0], string, RegExp]> = [
      ['JSON', '{"a":', /not JSON/],
      ['AVRO', 'record User {}', /not JSON/],
      ['JSON', '', /not JSON/],
      ['PROTOBUF', ' \n\t', /empty/],
      ['JSON', '"\\ud800"', /canonical form/],
      ['JSON', '['.repeat(MAX_SCHEMA_DEPTH + 1) + ']'.repeat(MAX_SCHEMA_DEPTH + 1), /nests arrays and objects 65 deep/],
      // What the wire lets through at most (64 KiB) nests 32,768 deep: refused, not a stack overflow.
      ['JSON', '['.repeat(32_768) + ']'.repeat(32_768), /nests arrays and objects/],
    ];
    for (const [format, text, why] of cases) {
      let err: unknown;
      try {
        canonicalForm(format, text);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'schema' } });
      expect((err as Error).message).toMatch(why);
    }
    expect(canonicalForm('JSON', '['.repeat(MAX_SCHEMA_DEPTH) + ']'.repeat(MAX_SCHEMA_DEPTH))).toHaveLength(2 * MAX_SCHEMA_DEPTH);
  });

  it('fingerprints format and canonical form together (golden SHA-256)', () => {
    // printf 'JSON\n{}' | sha256sum ; printf 'PROTOBUF\nsyntax = "proto3";' | sha256sum
    expect(fingerprintOf('JSON', '{}')).toBe('45f11fd5f148d7566d9e3c44c021c2277b1326287bc494f59e467a3c66c87823');
    expect(fingerprintOf('PROTOBUF', 'syntax = "proto3";')).toBe('747559c7c0d45b943a83590016aa736805c95144808fd95ea4960c7dfcdee53b');
    expect(fingerprintOf('JSON', '{}')).not.toBe(fingerprintOf('AVRO', '{}'));
  });

  it('knows exactly the documented formats', () => {
    expect(SCHEMA_FORMATS).toEqual(['AVRO', 'PROTOBUF', 'JSON']);
    expect(['AVRO', 'PROTOBUF', 'JSON'].every(isSchemaFormat)).toBe(true);
    for (const bad of ['avro', 'XML', '', 1, undefined]) expect(isSchemaFormat(bad)).toBe(false);
  });
});
