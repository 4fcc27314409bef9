/**
 * After the run (and after a final crash and restart of every server): ask the
 * fleet for the status of every transaction the workers began and validate
 * every session epoch they were given.
 */
import { PharaohClient } from '@pharaoh/client';
import type { WorkerEvent } from './events.js';
import { ask as askOnce, pool, type ChaosPlugin, type PluginEvent } from './services/plugin.js';

/** The status as a string, or the error code when every attempt failed (domain codes at once). */
async function ask(call: () => Promise<string>): Promise<string> {
  const r = await askOnce(call);
  return typeof r === 'string' ? r : r.error;
}

export interface ReadBack {
  finalTx: Map<string, string>;
  finalSessions: Map<string, string>;
  /** Each plug-in with its events and what its `readBack` returned. */
  plugins: Array<{ plugin: ChaosPlugin; events: PluginEvent[]; final: unknown }>;
}

export async function readBack(fleetFile: string, events: WorkerEvent[], plugins: readonly ChaosPlugin[] = [], pluginEvents: PluginEvent[] = []): Promise<ReadBack> {
  const client = await PharaohClient.connect({ fleet: fleetFile }, { timeoutMs: 10_000 });
  const finalTx = new Map<string, string>();
  const finalSessions = new Map<string, string>();
  const read: ReadBack['plugins'] = [];
  try {
    const txIds = [...new Set(events.flatMap((e) => (e.k === 'txb' ? [e.id] : [])))];
    await pool(txIds, async (id) => {
      finalTx.set(id, await ask(() => client.tx.status(BigInt(id))));
    });
    const epochs = [...new Set(events.flatMap((e) => (e.k === 'so' ? [`${e.id}:${e.ep}`] : [])))];
    await pool(epochs, async (key) => {
      const [id, ep] = key.split(':') as [string, string];
      finalSessions.set(key, await ask(() => client.sessions.validate({ sessionId: BigInt(id), epoch: Number(ep) })));
    });
    for (const plugin of plugins) {
      const mine = pluginEvents.filter((e) => e.svc === plugin.service);
      read.push({ plugin, events: mine, final: plugin.readBack ? await plugin.readBack(client, mine) : undefined });
    }
  } finally {
    await client.close();
  }
  return { finalTx, finalSessions, plugins: read };
}
