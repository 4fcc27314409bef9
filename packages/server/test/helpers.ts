import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ProtocolError, ERROR_CODES } from '@pharaoh/protocol';
import { TSO, type ServiceResult, type ServiceSpec } from '@pharaoh/registry';
import { startServer } from '../src/index.js';
import type { RunningServer, ServerOptions, ServiceDefinition } from '../src/index.js';

/** A shard whose ts.get answers only when the test releases it (async in-flight requests). */
export const HELD_SHARD = 7;
/** A shard whose ts.get throws a plain Error (a handler bug). */
export const BUGGY_SHARD = 8;
/** A shard whose ts.get throws a domain ProtocolError. */
export const OVERLOADED_SHARD = 9;

/** A shard whose ts.get answers carry 64 KiB of padding (to fill socket buffers quickly). */
export const BIG_SHARD = 6;
const PAD = 'x'.repeat(64 * 1024);

export interface Held {
  release(): void;
  fail(e: Error): void;
}

/** A TSO-like service with a few shards that behave specially, for host tests. */
export function testService(held: Held[] = []): ServiceDefinition<typeof TSO, { opened: number }> {
  return {
    spec: TSO,
    openShard: async () => ({ opened: Date.now() }),
    handlers: {
      'ts.get': (a, shard) => {
        if (a.shard === BUGGY_SHARD) throw new Error('a bug in the handler');
        if (a.shard === OVERLOADED_SHARD) throw new ProtocolError(ERROR_CODES.OVERLOADED, 'too many things');
        if (a.shard === BIG_SHARD) {
          return shard.generator.nextRange(a.count, a.after).then((r) => ({ ...r, pad: PAD }));
        }
        if (a.shard === HELD_SHARD) {
          return new Promise<ServiceResult<typeof TSO, 'ts.get'>>((resolve, reject) => {
            held.push({ release: () => resolve(shard.generator.nextRange(a.count, a.after)), fail: reject });
          });
        }
        return shard.generator.tryNextRangeSync(a.count, a.after) ?? shard.generator.nextRange(a.count, a.after);
      },
    },
  };
}

export const quietLogger = pino({ level: 'silent' });

/** A temp data dir removed by the returned cleanup. */
export function tempDir(prefix = 'pharaoh-server-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start a server on loopback, port 0, quiet logs. */
export function start<Spec extends ServiceSpec, S, O>(def: ServiceDefinition<Spec, S, O>, dataDir: string, extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer(def, { shards: '0-9', dataDir, host: '127.0.0.1', port: 0, httpPort: 0, logger: quietLogger, ...extra });
}

export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/**
 * The value of one Prometheus series in `text`, matching `name` and every label
 * in `labels` (in any order); undefined if absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const kv of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) have.set(kv[1]!, kv[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

export async function scrape(httpPort: number): Promise<string> {
  return (await httpGet(httpPort, '/metrics')).body;
}
