import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import { startServer } from '@pharaoh/server';
import type { RunningServer } from '@pharaoh/server';
import { txcoordService } from '../src/index.js';

let server: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One WebSocket, requests answered in order of ids. */
async function wire(url: string): Promise<{ call(op: string, args: Record<string, unknown>): Promise<Record<string, any>>; ws: WebSocket }> {
  const ws = new WebSocket(url);
  const waiting = new Map<number, (f: Record<string, any>) => void>();
  let next = 1;
  await new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (d) => {
    const f = decodeFrame(d as Buffer) as Record<string, any>;
    waiting.get(f.id)?.(f);
  });
  return {
    ws,
    call: (op, args) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        ws.send(encodeFrame({ id, op, ...args }));
      }),
  };
}

describe('txcoord limits over the wire', () => {
  it('answers OVERLOADED past maxOpenTx undecided transactions on a shard, and takes begins again after a decision', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharaoh-txlimits-'));
    server = await startServer(txcoordService, { shards: '0-1', dataDir: dir, port: 0, httpPort: 0, logLevel: 'silent', app: { maxOpenTx: 2 } });
    const c = await wire(server.url);
    const a = await c.call('tx.begin', { shard: 0 });
    await c.call('tx.begin', { shard: 0 });
    expect((await c.call('tx.begin', { shard: 0 })).err).toMatchObject({ code: 'OVERLOADED' });
    expect((await c.call('tx.begin', { shard: 1 })).ok).toBeDefined(); // the limit is per shard
    expect((await c.call('tx.commit', { txId: a.ok.txId })).ok).toBeDefined();
    expect((await c.call('tx.begin', { shard: 0 })).ok).toBeDefined();
    c.ws.terminate();
  });
});
