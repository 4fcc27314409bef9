/**
 * `pharaoh call <service> <op> [field=value ...] [--key k]`: any op of any
 * service of the registry, its fields read by their kinds (IDs in decimal),
 * routed like every client call, the answer printed as JSON (IDs as decimal
 * strings). A new service's ops are callable here with no edit.
 */
import type { FieldSpec } from '@pharaoh/protocol';
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
    const text = pair.slice(eq + 1);
    if (f[1] === 'id') args[name] = parseId(text, name);
    else if (f[1] === 'producer') args[name] = text;
    else if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(Number(text))) args[name] = Number(text);
    else throw bad(`${op}: ${name} must be a non-negative integer, got "${text}"`);
  }
  for (const [name, , optional] of fields.values()) if (!optional && args[name] === undefined) throw bad(`${op}: ${name}=<value> is required`);
  return args;
}

/** JSON with IDs (bigints) as decimal strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
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
