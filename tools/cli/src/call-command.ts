/**
 * `pharaoh call <service> <op> [field=value ...] [--key k]`: any op of any
 * service of the registry, its fields read by their kinds (IDs in decimal,
 * bytes in base64, booleans as true/false, lists as JSON arrays of objects),
 * routed like every client call, the answer printed as JSON (IDs as decimal
 * strings, bytes as base64). A new service's ops are callable here with no edit.
 */
import type { FieldKind, FieldSpec } from '@pharaoh/protocol';
import type { Registry, ServiceSpec } from '@pharaoh/registry';
import { withClient, type TargetOptions } from './client-commands.js';
import { parseId } from './decode.js';
import { CliError, CLI_ERROR_CODES } from './errors.js';

const bad = (m: string): CliError => new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, m);

/** `field=value` pairs → the op's arguments, by the kinds of its fields (`shard` is the router's). */
export function parseCallArgs(spec: ServiceSpec, op: string, pairs: string[]): Record<string, unknown> {
  const opSpec = spec.ops[op];
  if (opSpec === undefined) throw bad(`${spec.name} has no op "${op}": expected one of ${Object.keys(spec.ops).join(', ')}`);
  const fields = new Map<string, FieldSpec>(opSpec.fields.filter((f) => f[0] !== 'shard').map((f) => [f[0], f]));
  const args: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const f = fields.get(name);
    if (eq < 0 || f === undefined) throw bad(`${op}: "${pair}" is not field=value with a field of ${[...fields.keys()].join(', ') || '(none)'}`);
    args[name] = fromText(op, name, f[1], pair.slice(eq + 1));
  }
  for (const [name, , optional] of fields.values()) if (!optional && args[name] === undefined) throw bad(`${op}: ${name}=<value> is required`);
  return args;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One `field=value` text → the field's value by its kind (the server checks ranges and lengths). */
function fromText(op: string, name: string, kind: FieldKind, text: string): unknown {
  if (typeof kind !== 'string') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw bad(`${op}: ${name} must be a JSON array of objects, got "${text}"`);
    }
    return fromJson(op, name, kind, json);
  }
  switch (kind) {
    case 'id':
      return parseId(text, name);
    case 'producer':
    case 'name':
    case 'text':
      return text;
    case 'bytes':
      if (!BASE64.test(text)) throw bad(`${op}: ${name} must be base64, got "${text}"`);
      return new Uint8Array(Buffer.from(text, 'base64'));
    case 'bool':
      if (text !== 'true' && text !== 'false') throw bad(`${op}: ${name} must be true or false, got "${text}"`);
      return text === 'true';
    default:
      if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(Number(text))) return Number(text);
      throw bad(`${op}: ${name} must be a non-negative integer, got "${text}"`);
  }
}

/** A JSON value (inside a list argument) → the field's value: IDs and integers as numbers or decimal strings, bytes as base64. */
function fromJson(op: string, name: string, kind: FieldKind, v: unknown): unknown {
  if (typeof kind !== 'string') {
    if (!Array.isArray(v)) throw bad(`${op}: ${name} must be a JSON array of objects`);
    return v.map((item: unknown, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(`${op}: ${name}[${i}] must be a JSON object`);
      const out: Record<string, unknown> = {};
      for (const [field, k] of kind.list) {
        const x = (item as Record<string, unknown>)[field];
        if (x !== undefined && x !== null) out[field] = fromJson(op, `${name}[${i}].${field}`, k, x);
      }
      return out;
    });
  }
  if (kind === 'bool' && typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'string') return fromText(op, name, kind, String(v));
  throw bad(`${op}: ${name} has the wrong JSON type`);
}

/** JSON with IDs (bigints) as decimal strings and bytes as base64. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x));
}

export async function callCommand(registry: Registry, service: string, op: string, pairs: string[], o: TargetOptions & { key?: string }): Promise<void> {
  const spec = registry.find(service);
  if (spec === undefined) throw bad(`unknown service "${service}": expected one of ${registry.names.join(', ')}`);
  const args = parseCallArgs(spec, op, pairs);
  const print = o.print ?? ((line: string) => process.stdout.write(line + '\n'));
  await withClient({ ...o, services: registry }, spec.name, async (c) => {
    // The arguments were checked against the op's fields above; the call is typed by the op in general.
    const result = await c.service(spec).call(op, args as never, o.key === undefined ? undefined : { key: o.key });
    print(toJson(result));
  });
}
