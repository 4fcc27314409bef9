/**
 * `pharaoh serve <service> [flags]`: run one shard host in this process. The
 * flags are the server's own (`--shards --port --http-port --host --data
 * --log-level` and limits, also PHARAOH_* variables); this module only picks
 * the service definition.
 */
import { runServiceMain } from '@pharaoh/server';
import type { ServiceDefinition } from '@pharaoh/server';
import { SERVICES } from '@pharaoh/protocol';
import type { ServiceName } from '@pharaoh/protocol';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** Check a service name from the command line. */
export function parseService(name: string): ServiceName {
  if (!(SERVICES as readonly string[]).includes(name)) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `unknown service "${name}": expected one of ${SERVICES.join(', ')}`);
  }
  return name as ServiceName;
}

/** The app's service definition, loaded on demand so `pharaoh decode` never loads server code. */
export async function loadService(service: ServiceName): Promise<ServiceDefinition<unknown>> {
  switch (service) {
    case 'tso':
      return (await import('@pharaoh/tso')).tsoService as ServiceDefinition<unknown>;
    case 'txcoord':
      return (await import('@pharaoh/txcoord')).txcoordService as ServiceDefinition<unknown>;
    case 'session-mgr':
      return (await import('@pharaoh/session-mgr')).sessionService as ServiceDefinition<unknown>;
  }
}

/** Run `service` with the server flags in `flags` until SIGTERM/SIGINT. */
export async function serve(service: ServiceName, flags: string[]): Promise<void> {
  const def = await loadService(service);
  await runServiceMain(def, [process.execPath, `pharaoh serve ${service}`, ...flags]);
}
