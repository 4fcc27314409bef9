/**
 * How the vector cases are written in TypeScript, and how a step becomes
 * JSON: the frame's decoded value and whether it is canonical are computed
 * here (with stand-in values for `{vars}`), never typed by hand.
 */
import { REGISTRY } from '@pharaoh/registry';
import { decodeFrame, encodeFrame } from '../../src/index.js';
import { toTagged, VAR_RE, type Expect, type Shape, type Step, type Tagged, type VectorCase } from '../../src/testing.js';

/** Every service of the registry: the cases every process must pass (envelope, ping, admin.info). */
export const ALL: string[] = REGISTRY.names;

/** Expected answers. `message` is always a string; other details as given. */
export const ok = (id: number, shape: Shape = {}): Expect => ({ ok: shape, id });
export const err = (id: number | null, code: string, details: Record<string, Shape> = {}): Expect => ({
  err: { code, message: '$string', ...details },
  id,
});
export const bad = (id: number | null, field: string | undefined): Expect =>
  err(id, 'BAD_REQUEST', field === undefined ? { field: { $absent: true } } : { field });
export const closes = (code: number): Expect => ({ close: code });

export interface StepDef extends Omit<Step, 'value' | 'canonical'> {}

/** Stand-ins for `{name}` while computing a step's value: distinct, recognisable uint64s. */
const STAND_IN_BASE = 0x70f0_f0f0_0000_0000n;

/** A step as JSON: `value` and `canonical` derived from its hex. */
export function step(def: StepDef): Step {
  const out: Step = { ...def };
  if (def.send === undefined) return out;
  const names: string[] = [];
  const hex = def.send.replace(VAR_RE, (_m, name: string, form: string | undefined) => {
    if (!names.includes(name)) names.push(name);
    return `${form === 'i64' ? 'd3' : 'cf'}${(STAND_IN_BASE + BigInt(names.indexOf(name))).toString(16).padStart(16, '0')}`;
  });
  let decoded: unknown;
  try {
    decoded = decodeFrame(Buffer.from(hex, 'hex'));
  } catch {
    return { send: def.send, ...rest(def) };
  }
  const value = restoreVars(toTagged(decoded), names);
  const canonical = encodeFrame(decoded).toString('hex') === hex;
  return { send: def.send, value, canonical, ...rest(def) };
}

function rest(def: StepDef): Omit<Step, 'send' | 'value' | 'canonical'> {
  const { send: _send, ...others } = def;
  return others;
}

function restoreVars(t: Tagged, names: string[]): Tagged {
  if (t === null || typeof t !== 'object') return t;
  if (Array.isArray(t)) return t.map((x) => restoreVars(x, names));
  const u64 = (t as { $u64?: string }).$u64;
  if (typeof u64 === 'string' && Object.keys(t).length === 1) {
    const i = BigInt(u64) - STAND_IN_BASE;
    if (i >= 0n && i < BigInt(names.length)) return { $var: names[Number(i)]! };
  }
  const out: Record<string, Tagged> = {};
  for (const [k, v] of Object.entries(t)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: restoreVars(v, names), enumerable: true, writable: true, configurable: true });
    else out[k] = restoreVars(v, names);
  }
  return out;
}

/** A case: name, services, steps (as definitions). */
export function kase(name: string, services: string[], steps: StepDef[], extra: Partial<Omit<VectorCase, 'name' | 'services' | 'steps'>> = {}): VectorCase {
  return { name, services, ...extra, steps: steps.map(step) };
}
