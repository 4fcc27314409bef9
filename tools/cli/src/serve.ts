/**
 * `pharaoh serve <service> [flags]`: run one shard host in this process,
 * through the same entry path as each app's own `main.ts` (runServiceMain).
 * The service comes from the registry; its implementation is the `service`
 * export of `apps/<name>/src/service.ts`, found by that convention (esbuild
 * bundles every such file into the launcher's bundle), so no list of services
 * lives here.
 */
import { REGISTRY, type Registry, type ServiceSpec } from '@pharaoh/registry';
import { runServiceMain, type ServiceDefinition } from '@pharaoh/server';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** Check a service name from the command line against the registry. */
export function parseService(name: string, registry: Registry = REGISTRY): ServiceSpec {
  const spec = registry.find(name);
  if (spec === undefined) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `unknown service "${name}": expected one of ${registry.names.join(', ')}`);
  }
  return spec;
}

/** How `serve` finds a service's implementation: by default, the app folder named after it. */
export type ServiceLoader = (spec: ServiceSpec) => Promise<ServiceDefinition>;

/** `apps/<name>/src/service.ts` exports `service` (loaded on demand so `pharaoh decode` never loads server code). */
export const loadAppService: ServiceLoader = async (spec) => {
  const mod = (await import(`../../../apps/${spec.name}/src/service.ts`)) as { service?: ServiceDefinition };
  if (mod.service?.spec !== spec) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `apps/${spec.name}/src/service.ts does not export the service of registry entry ${spec.name} as \`service\``);
  }
  return mod.service;
};

/** Run `service` with the server flags in `flags` until SIGTERM/SIGINT. */
export async function serve(spec: ServiceSpec, flags: string[], load: ServiceLoader = loadAppService): Promise<void> {
  const def = await load(spec);
  await runServiceMain(def, [process.execPath, `pharaoh serve ${spec.name}`, ...flags]);
}
