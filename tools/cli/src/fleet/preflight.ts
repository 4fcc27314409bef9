/**
 * Checks `fleet up` makes before starting anything, so the usual operator
 * mistakes get one clear message instead of a wall of child-process logs.
 */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { CliError, CLI_ERROR_CODES } from '../errors.js';
import type { Fleet } from '../fleet-file.js';

/** Resolves to the error code of binding `host:port`, or null when it is free. */
export function probePort(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/** A port the OS reports free right now (bind port 0, read it, release it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `count` distinct ports the OS reports free right now. All are held open until
 * every one is chosen: releasing each at once lets the OS hand the same port
 * out twice in a row.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host, port: 0 }, () => resolve());
      });
    }
    return servers.map((srv) => {
      const addr = srv.address();
      return typeof addr === 'object' && addr ? addr.port : 0;
    });
  } finally {
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  }
}

/** Refuse to start when any port of the fleet is taken, naming the process entry and the port. */
export async function checkPorts(fleet: Fleet): Promise<void> {
  for (const m of fleet.members) {
    const ports: Array<[string, number | undefined]> = [
      ['WebSocket', m.port],
      ['HTTP', m.httpPort],
    ];
    for (const [kind, port] of ports) {
      if (port === undefined) continue;
      const code = await probePort(m.host, port);
      if (code === 'EADDRINUSE') {
        throw new CliError(
          CLI_ERROR_CODES.PORT_IN_USE,
          `${m.label}: ${kind} port ${port} on ${m.host} is already in use by another process.\n` +
            `  Is a fleet already running? Try \`pharaoh fleet status\` or \`pharaoh fleet down\`, or change the ports in the fleet file.`,
        );
      }
      if (code !== null) {
        throw new CliError(CLI_ERROR_CODES.PORT_IN_USE, `${m.label}: cannot listen on ${m.host}:${port} (${code})`);
      }
    }
  }
}

/** Create each data directory and prove it is writable (a real write: root passes `access` everywhere). */
export function checkDataDirs(fleet: Fleet): void {
  const dirs = new Set([fleet.dataDir, ...fleet.members.map((m) => m.dataDir)]);
  for (const dir of dirs) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      const probe = join(dir, `.pharaoh-write-test-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CliError(
        CLI_ERROR_CODES.DATA_DIR,
        `data directory ${dir} is not writable (${e.code ?? e.message}).\n` +
          `  Shards keep their counters and journals there; pick a writable directory with "data" in the fleet file.`,
        { cause: err },
      );
    }
  }
}
