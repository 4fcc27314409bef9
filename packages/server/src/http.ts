import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuthResult } from './auth.js';
import type { ServerMetrics } from './metrics.js';
import { createPortServer } from './tls.js';
import type { TlsMaterial } from './tls.js';

export interface Readiness {
  ready: boolean;
  closing: boolean;
  /** Hosted shards that do not serve (failed or closing). */
  unavailable: number[];
  /**
   * Why, for the first few unavailable shards (shard id → the error code and
   * message that failed it), e.g. `{"17": "ENOSPC: no space left on device ..."}`.
   * Failed shards reopen themselves with backoff (see docs/OPERATIONS.md).
   */
  causes?: Record<string, string>;
}

/**
 * The operator's port: `/healthz` (the process runs and answers), `/readyz`
 * (every hosted shard serves and no shutdown started; 503 otherwise) and
 * `/metrics` (Prometheus text format). Health and readiness stay open (probes
 * carry no token and reveal nothing but up/down); `/metrics` needs an admin
 * token when authentication is on, because it describes traffic per shard.
 * `authorize` returns undefined when authentication is off.
 */
export function createOpsServer(
  metrics: ServerMetrics,
  readiness: () => Readiness,
  logger: Logger,
  authorize: (req: IncomingMessage) => AuthResult | undefined,
  tls?: TlsMaterial,
): Server {
  const server = createPortServer(tls, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
    } else if (path === '/readyz') {
      const r = readiness();
      json(res, r.ready ? 200 : 503, r);
    } else if (path === '/metrics') {
      const auth = authorize(req);
      if (auth !== undefined && !auth.ok) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="pharaoh"' }).end('unauthorized: an admin token is required\n');
        return;
      }
      if (auth !== undefined && auth.role !== 'admin') {
        metrics.authFailed('forbidden');
        res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: /metrics needs an admin token\n');
        return;
      }
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
    }
  }
  return server;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
}
