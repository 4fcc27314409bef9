/**
 * Schema formats and their canonical forms: what makes two registrations "the
 * same schema". A subject maps each (format, canonical form) to one version
 * and one schema id, so whitespace or key order never mint a second version.
 *
 * - `JSON` (JSON Schema) and `AVRO` (an Avro schema is a JSON document): the
 *   text must be one JSON value (RFC 8259, as `JSON.parse` reads it: duplicate
 *   keys keep the last value); its canonical form is the RFC 8785 JSON
 *   Canonicalization Scheme serialisation of that value (object keys sorted by
 *   UTF-16 code units, no whitespace, numbers as ECMAScript prints them,
 *   strings with the minimal escapes). Not Avro's own "Parsing Canonical
 *   Form": `doc`, `aliases` and other attributes stay significant.
 * - `PROTOBUF` (a .proto file's text): the bytes themselves after removing
 *   leading and trailing ASCII whitespace (space, tab, CR, LF); nothing
 *   inside is normalised.
 *
 * The fingerprint is the lowercase hex SHA-256 of `<FORMAT>\n<canonical form>`
 * in UTF-8: the same text under two formats is two schemas.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { badSchema } from './errors.js';

/** The formats a schema may be registered in, as they appear on the wire. */
export const SCHEMA_FORMATS = ['AVRO', 'PROTOBUF', 'JSON'] as const;
export type SchemaFormat = (typeof SCHEMA_FORMATS)[number];

/**
 * How deeply JSON and AVRO schemas may nest arrays and objects. Real schemas
 * nest a few levels (an Avro record of records rarely passes 10); 64 keeps
 * the canonicaliser's recursion far from the stack limit on any input the
 * wire lets through (64 KiB could otherwise nest 32,768 levels).
 */
export const MAX_SCHEMA_DEPTH = 64;

export function isSchemaFormat(v: unknown): v is SchemaFormat {
  return typeof v === 'string' && (SCHEMA_FORMATS as readonly string[]).includes(v);
}

/** The canonical form of `schema` in `format`; BAD_REQUEST (field `schema`) when it is not one. */
export function canonicalForm(format: SchemaFormat, schema: string): string {
  if (format === 'PROTOBUF') {
    const trimmed = schema.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (trimmed.length === 0) throw badSchema(format, 'it is empty (only whitespace)');
    return trimmed;
  }
  let value: unknown;
  try {
    value = JSON.parse(schema);
  } catch (err) {
    throw badSchema(format, `it is not JSON (${(err as Error).message})`);
  }
  const depth = depthOf(value);
  if (depth > MAX_SCHEMA_DEPTH) throw badSchema(format, `it nests arrays and objects ${depth} deep, more than ${MAX_SCHEMA_DEPTH}`);
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (err) {
    // A string with a lone UTF-16 surrogate (from a \ud800 escape) has no canonical form.
    throw badSchema(format, `it has no RFC 8785 canonical form (${(err as Error).message})`);
  }
  if (out === undefined) throw badSchema(format, 'it has no RFC 8785 canonical form');
  return out;
}

/** The fingerprint of a canonical form: lowercase hex SHA-256 of `<FORMAT>\n<canonical>` (UTF-8). */
export function fingerprintOf(format: SchemaFormat, canonical: string): string {
  return createHash('sha256').update(`${format}\n${canonical}`, 'utf8').digest('hex');
}

/** How deeply `value` nests arrays and objects (a scalar is 0), counted without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    // Past the limit the exact depth does not matter: stop descending.
    if (depth > MAX_SCHEMA_DEPTH) return depth;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth]);
  }
  return max;
}
