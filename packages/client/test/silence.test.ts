/**
 * A host that is cut off or powered off sends no FIN or RST: the socket stays
 * "open". The connection drops a socket whose server stays silent for
 * `silenceMs` while requests are in flight, so keyless calls fail over instead
 * of waiting out their timeout (tools/hosts found this on network namespaces).
 */
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SILENCE_MS, parseClientOptions } from '../src/index.js';
import { rig, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.client.close();
  r = undefined;
});

const hostOf = (id: bigint) => (TSO_LAYOUT.shardOf(id) < 512 ? 'ws://fake-0' : 'ws://fake-1');

describe('a server that falls silent', () => {
  it('is dropped after silenceMs with a request in flight, and the keyless call succeeds on the other endpoint before its timeout', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 511]] },
      { service: 'tso', shards: [[512, 1023]] },
    ], { timeoutMs: 5_000 });
    const home = hostOf(await r.client.tso.next());
    r.nodes.get(home)!.intercept = () => 'hang';
    let got: bigint | undefined;
    const p = r.client.tso.next().then((id) => (got = id));
    await r.clock.advance(DEFAULT_SILENCE_MS - 10);
    expect(got).toBeUndefined();
    expect(r.events.some((e) => e.type === 'disconnect')).toBe(false);
    await r.clock.advance(20);
    await p;
    expect(hostOf(got!)).not.toBe(home);
    expect(r.events.some((e) => e.type === 'disconnect' && e.endpoint === home && /no frame from/.test(e.error))).toBe(true);
  });

  it('is kept while it answers other requests, however long one request waits', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]] }], { timeoutMs: 5_000 });
    const { txId } = await r.client.tx.begin();
    r.nodes.get('ws://fake-0')!.intercept = (req) => (req.op === 'tx.status' ? 'hang' : undefined);
    const slow = r.client.tx.status(txId).catch((e: unknown) => e);
    for (let i = 0; i < 4; i++) {
      await r.clock.advance(DEFAULT_SILENCE_MS / 2);
      await r.client.tx.begin();
    }
    expect(r.events.some((e) => e.type === 'disconnect')).toBe(false);
    await r.clock.advance(5_000);
    expect(await slow).toMatchObject({ code: 'TIMEOUT' });
  });

  it('defaults to the smaller of DEFAULT_SILENCE_MS and half the call timeout', () => {
    expect(parseClientOptions({}).silenceMs).toBe(DEFAULT_SILENCE_MS);
    expect(parseClientOptions({ timeoutMs: 1_000 }).silenceMs).toBe(500);
    expect(parseClientOptions({ timeoutMs: 1_000, silenceMs: 900 }).silenceMs).toBe(900);
    expect(() => parseClientOptions({ silenceMs: 0 })).toThrow(/silenceMs/);
  });
});
