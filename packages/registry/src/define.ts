/**
 * What a service is, as data: the one shape every registry entry has. The
 * server, the client, the CLI, the deploy checks and the docs tables all read
 * these fields; nothing else lists services or their ops.
 */
import { HOST_OPS, type ArgsOf, type OpSpec, type ResultOf } from '@pharaoh/protocol';
import type { Layout } from '@pharaoh/snowflake';

export interface ServiceSpec<N extends string = string, Ops extends Readonly<Record<string, OpSpec>> = Readonly<Record<string, OpSpec>>> {
  /** The service's name: its data directory, its `hello`, its fleet-file key, its pod names (a DNS label). */
  readonly name: N;
  /** One line for tables and help: what it hands out. */
  readonly title: string;
  /** The bit layout of every ID it issues (only this service issues IDs of this layout). */
  readonly layout: Layout;
  /** Its own ops (the host adds `ping` and `admin.info` to every service). */
  readonly ops: Ops;
  /** Ports of the default local fleet and of its pods (WebSocket, HTTP health/metrics). */
  readonly ports: { readonly ws: number; readonly http: number };
  /** Shards per pod of its StatefulSet in deploy/k8s (replicas = ceil(1024 / shardsPerPod)). */
  readonly shardsPerPod: number;
  /** What each of its pods asks Kubernetes for (deploy/k8s, from measured figures: docs/DEPLOY.md, "Resources"). */
  readonly pods: {
    /** CPU request, e.g. `500m` (no limit: throttling would stall every shard of the pod). */
    readonly cpu: string;
    /** Its volume, e.g. `1Gi`. */
    readonly storage: string;
    /** Why that volume size (a comment in the manifest). */
    readonly storageWhy: string;
  };
}

/** Names of a service's own ops. */
export type OpsOf<S extends ServiceSpec> = keyof S['ops'] & string;
/** The checked request arguments of op `O` of service `S`. */
export type ServiceArgs<S extends ServiceSpec, O extends OpsOf<S>> = ArgsOf<S['ops'][O]>;
/** The answer of op `O` of service `S`. */
export type ServiceResult<S extends ServiceSpec, O extends OpsOf<S>> = ResultOf<S['ops'][O]>;

/** What a registry entry must satisfy; a violation is a programming error caught at start (and by the registry tests). */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code = 'REGISTRY_INVALID';
}

/** Every request carries these next to the op's fields. */
const ENVELOPE_FIELDS: readonly string[] = ['id', 'op', 'v'];

const NAME_RE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/**
 * Declare a service. Checks what types cannot: a DNS-label name, ports in
 * range, op names that do not shadow the host's, routes that name an ID field
 * of the op, and an `issues` that names a count field of its answer.
 */
export function defineService<const N extends string, const Ops extends Readonly<Record<string, OpSpec>>>(spec: ServiceSpec<N, Ops>): ServiceSpec<N, Ops> {
  const bad = (m: string): RegistryError => new RegistryError(`service ${JSON.stringify(spec.name)}: ${m}`);
  if (!NAME_RE.test(spec.name)) throw bad('name must be a DNS label: lower-case letters, digits and dashes, 2..32 characters');
  for (const p of [spec.ports.ws, spec.ports.http]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw bad(`port ${p} is not in 1..65535`);
  if (spec.ports.ws === spec.ports.http) throw bad('ws and http ports must differ');
  if (!Number.isInteger(spec.shardsPerPod) || spec.shardsPerPod < 1 || spec.shardsPerPod > 1024) throw bad('shardsPerPod must be in 1..1024');
  if (!/^\d+(m|\.\d+)?$/.test(spec.pods.cpu)) throw bad(`pods.cpu ${spec.pods.cpu} is not a Kubernetes CPU quantity (e.g. 500m, 1)`);
  if (!/^\d+(Mi|Gi|Ti)$/.test(spec.pods.storage)) throw bad(`pods.storage ${spec.pods.storage} is not a size like 10Gi`);
  if (Object.keys(spec.ops).length === 0) throw bad('a service needs at least one op');
  for (const [op, o] of Object.entries(spec.ops)) {
    if ((HOST_OPS as readonly string[]).includes(op)) throw bad(`op ${op} is the host's`);
    if (!/^[a-z]+\.[a-z][a-zA-Z]*$/.test(op)) throw bad(`op ${op} must look like <area>.<verb>`);
    for (const [name] of o.fields) if (ENVELOPE_FIELDS.includes(name)) throw bad(`op ${op}: field ${name} is the envelope's (id, op, v)`);
    const field = (name: string) => o.fields.find((f) => f[0] === name);
    if (o.route === 'shard') {
      if (field('shard')?.[1] !== 'shard' || field('shard')?.[2] !== false) throw bad(`op ${op} is routed by shard but has no required shard field`);
    } else if (field(o.route.id)?.[1] !== 'id' || field(o.route.id)?.[2] !== false) {
      throw bad(`op ${op} is routed by ${o.route.id}, which is not a required id field`);
    }
    if (typeof o.issues === 'string' && o.result[o.issues] !== 'uint') throw bad(`op ${op} issues the count in ${o.issues}, which is not a uint answer field`);
    if (typeof o.issues === 'number' && (!Number.isInteger(o.issues) || o.issues < 0)) throw bad(`op ${op}: issues must be a non-negative integer`);
  }
  return spec;
}

/**
 * A set of services: the production one is `REGISTRY` (services.ts); tests
 * extend it with `with()` to prove that a new service is one entry. Refuses
 * two services with one name, one port, or one op name.
 */
export class Registry<S extends ServiceSpec = ServiceSpec> {
  private readonly byName = new Map<string, S>();

  constructor(readonly services: readonly S[]) {
    const ports = new Map<number, string>();
    const ops = new Map<string, string>();
    for (const s of services) {
      if (this.byName.has(s.name)) throw new RegistryError(`two services are named ${s.name}`);
      this.byName.set(s.name, s);
      for (const p of [s.ports.ws, s.ports.http]) {
        const other = ports.get(p);
        if (other !== undefined) throw new RegistryError(`${s.name} and ${other} both use port ${p}`);
        ports.set(p, s.name);
      }
      for (const op of Object.keys(s.ops)) {
        const other = ops.get(op);
        if (other !== undefined) throw new RegistryError(`${s.name} and ${other} both define op ${op}`);
        ops.set(op, s.name);
      }
    }
  }

  /** The service names, in registry order. */
  get names(): string[] {
    return this.services.map((s) => s.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The service named `name`, or undefined. */
  find(name: string): S | undefined {
    return this.byName.get(name);
  }

  /** The service named `name`; throws a RegistryError listing the known ones. */
  get(name: string): S {
    const s = this.byName.get(name);
    if (s === undefined) throw new RegistryError(`unknown service "${name}": expected one of ${this.names.join(', ')}`);
    return s;
  }

  /** The service that defines op `op`, and the op's spec (op names are unique across services). */
  findOp(op: string): { service: S; spec: OpSpec } | undefined {
    for (const service of this.services) {
      const spec = (service.ops as Readonly<Record<string, OpSpec>>)[op];
      if (spec !== undefined) return { service, spec };
    }
    return undefined;
  }

  /** This registry plus more services (checked like the rest). */
  with<T extends ServiceSpec>(...more: T[]): Registry<S | T> {
    return new Registry<S | T>([...this.services, ...more]);
  }
}
