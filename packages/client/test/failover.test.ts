import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ClientClosedError,
  ConnectError,
  FleetConflictError,
  PharaohClient,
  TimeoutError,
  TxAbortedError,
  type StatusEvent,
} from '../src/index.js';
import { FakeNode } from './fake-node.js';
import { FakeTransport, ManualClock, settle } from './fakes.js';
import { checkIds, expectIncreasing, keyFor, rig, sent, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.client.close();
  r = undefined;
});

describe('failover of fresh-ID calls', () => {
  it('moves keyless calls to the surviving endpoint when one dies mid-batch, keeping IDs increasing', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 511]] },
      { service: 'tso', shards: [[512, 1023]] },
    ]);
    const before: bigint[] = [];
    for (let i = 0; i < 6; i++) before.push(await r.client.tso.next());
    // A batch is sent on the next turn; kill its endpoint before the answer arrives.
    const inflight = Promise.all(Array.from({ length: 100 }, () => r!.client.tso.next()));
    await new Promise((res) => setImmediate(res));
    const target = sent(r.nodes.get('ws://fake-0')!, 'ts.get').length > sent(r.nodes.get('ws://fake-1')!, 'ts.get').length ? 'ws://fake-0' : 'ws://fake-1';
    r.transport.kill(target);
    const during = await inflight;
    const after: bigint[] = [];
    for (let i = 0; i < 6; i++) after.push(await r.client.tso.next());
    const all = [...before, ...during, ...after];
    expectIncreasing(all);
    checkIds(all);
    const deadShards = target === 'ws://fake-0' ? [0, 511] : [512, 1023];
    for (const id of [...during, ...after]) {
      const s = TSO_LAYOUT.shardOf(id);
      expect(s >= deadShards[0]! && s <= deadShards[1]!).toBe(false);
    }
    expect(r.events.some((e) => e.type === 'disconnect' && e.endpoint === target)).toBe(true);
  });

  it('skips a shard that answered SHARD_UNAVAILABLE and serves the call from another', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    node.intercept = (req) => (req.shard === 0 ? { code: 'SHARD_UNAVAILABLE' } : undefined);
    for (let i = 0; i < 4; i++) expect(TSO_LAYOUT.shardOf(await r.client.tso.next())).toBe(1);
  });

  it('retries an OVERLOADED answer after a pause', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]] }]);
    let refusals = 2;
    r.nodes.get('ws://fake-0')!.intercept = (req) => (req.op === 'tx.begin' && refusals-- > 0 ? { code: 'OVERLOADED' } : undefined);
    const p = r.client.tx.begin();
    await r.clock.advance(200);
    await expect(p).resolves.toMatchObject({ timeoutMs: 10_000 });
    expect(sent(r.nodes.get('ws://fake-0')!, 'tx.begin')).toHaveLength(3);
  });
});

describe('calls about an existing ID', () => {
  async function commitFromHere(client: PharaohClient, txId: bigint): Promise<unknown> {
    return client.tx.commit(txId);
  }

  it('retry while their shard is down and succeed once it is back', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]] }]);
    const { txId } = await r.client.tx.begin();
    r.transport.kill('ws://fake-0');
    await settle();
    const p = commitFromHere(r.client, txId);
    await r.clock.advance(50);
    r.transport.up('ws://fake-0');
    await r.clock.advance(1_000); // reconnect backoff elapses
    await expect(p).resolves.toEqual({ commitTs: txId + 1n });
    expect(r.events.map((e) => e.type)).toEqual(['disconnect', 'reconnect']);
  });

  it('reject after their timeout with a TimeoutError whose stack shows the caller', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]] }], { timeoutMs: 2_000 });
    const { txId } = await r.client.tx.begin();
    r.transport.kill('ws://fake-0');
    await settle();
    const p = commitFromHere(r.client, txId).catch((e: unknown) => e);
    await r.clock.advance(2_100);
    const err = (await p) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/tx\.commit did not succeed within 2000 ms/);
    expect(err.stack).toContain('commitFromHere');
  });

  it('map server error codes to typed errors that keep the caller stack, without retrying', async () => {
    r = await rig([{ service: 'txcoord', shards: [[0, 1023]] }]);
    const { txId } = await r.client.tx.begin();
    await r.client.tx.abort(txId);
    const err = (await commitFromHere(r.client, txId).catch((e: unknown) => e)) as TxAbortedError;
    expect(err).toBeInstanceOf(TxAbortedError);
    expect(err.code).toBe('TX_ABORTED');
    expect(err.endpoint).toBe('ws://fake-0');
    expect(err.stack).toContain('commitFromHere');
    r.nodes.get('ws://fake-0')!.intercept = () => ({ code: 'BAD_REQUEST', details: { field: 'txId' } });
    const bad = (await r.client.tx.status(txId).catch((e: unknown) => e)) as BadRequestError;
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad.details.field).toBe('txId');
    expect(sent(r.nodes.get('ws://fake-0')!, 'tx.status')).toHaveLength(1);
  });
});

describe('timeouts', () => {
  async function tsoFromHere(client: PharaohClient): Promise<bigint> {
    return await client.tso.next();
  }

  it('gives a tso call refused by the server a typed error with the caller in the stack', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }]);
    r.nodes.get('ws://fake-0')!.intercept = () => ({ code: 'BAD_REQUEST', details: { field: 'after' } });
    const err = (await tsoFromHere(r.client).catch((e: unknown) => e)) as BadRequestError;
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details.field).toBe('after');
    expect(err.stack).toContain('tsoFromHere');
  });

  it('rejects a call the server never answers after timeoutMs, with the caller in the stack', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }], { timeoutMs: 1_000 });
    r.nodes.get('ws://fake-0')!.intercept = () => 'hang';
    const p = tsoFromHere(r.client).catch((e: unknown) => e);
    await settle();
    await r.clock.advance(1_001);
    const err = (await p) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.stack).toContain('tsoFromHere');
  });
});

describe('shard map', () => {
  it('refuses a fleet whose hellos claim one shard twice, naming both endpoints', async () => {
    const transport = new FakeTransport();
    transport.add('ws://a', new FakeNode({ service: 'tso', shards: [[0, 600]] }));
    transport.add('ws://b', new FakeNode({ service: 'tso', shards: [[500, 1023]] }));
    const err = (await PharaohClient.connect({ endpoints: ['ws://a', 'ws://b'] }, { transport, clock: new ManualClock() }).catch((e: unknown) => e)) as FleetConflictError;
    expect(err).toBeInstanceOf(FleetConflictError);
    expect(err.message).toContain('ws://a');
    expect(err.message).toContain('ws://b');
    expect(err.shard).toBe(500);
    await settle();
    expect(transport.openSockets()).toBe(0);
  });

  it('accepts the same shard in two services', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 1023]] },
      { service: 'txcoord', shards: [[0, 1023]] },
    ]);
    expect(await r.client.tso.next()).toBeTypeOf('bigint');
  });

  it('refreshes the map on NOT_OWNER, reconnects to find the owner, and retries there', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    // a's hello claims everything but it hosts only 0-511; b is down at connect and hosts the rest.
    const a = new FakeNode({ service: 'tso', shards: [[0, 1023]], owns: [[0, 511]] });
    const b = new FakeNode({ service: 'tso', shards: [[512, 1023]] });
    transport.add('ws://a', a);
    transport.add('ws://b', b);
    transport.kill('ws://b');
    const client = await PharaohClient.connect({ endpoints: ['ws://a', 'ws://b'] }, { transport, clock });
    r = { client, transport, clock, nodes: new Map(), events: [] };
    const events: StatusEvent[] = [];
    client.on('status', (e) => events.push(e));
    transport.up('ws://b');
    const id = await client.tso.next({ key: keyFor(700) });
    expect(TSO_LAYOUT.shardOf(id)).toBe(700);
    expect(sent(a, 'ts.get')[0]!.shard).toBe(700);
    expect(events.find((e) => e.type === 'fleet-changed')).toMatchObject({ reason: 'not-owner', endpoint: 'ws://a', after: [[0, 511]] });
    expect(events.find((e) => e.type === 'connect')).toMatchObject({ endpoint: 'ws://b', shards: [[512, 1023]] });
  });

  it('follows a NOT_OWNER that names the endpoint a shard moved to (movedTo), and retries there without an error', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    // Shard 700 moved from a to b after both said hello: a answers NOT_OWNER naming b; b's hello did not list it.
    const a = new FakeNode({ service: 'tso', shards: [[0, 700]], owns: [[0, 699]] });
    const b = new FakeNode({ service: 'tso', shards: [[701, 1023]], owns: [[700, 1023]] });
    a.intercept = (req) => (req.shard === 700 ? { code: 'NOT_OWNER', details: { shards: [[0, 699]], shard: 700, movedTo: 'ws://b' } } : undefined);
    transport.add('ws://a', a);
    transport.add('ws://b', b);
    const client = await PharaohClient.connect({ endpoints: ['ws://a', 'ws://b'] }, { transport, clock });
    r = { client, transport, clock, nodes: new Map(), events: [] };
    const events: StatusEvent[] = [];
    client.on('status', (e) => events.push(e));
    const pending = client.tso.next({ key: keyFor(700) });
    await settle();
    await clock.advance(30); // the retry waits retryDelayMs (25 ms)
    const id = await pending;
    expect(TSO_LAYOUT.shardOf(id)).toBe(700);
    expect(sent(a, 'ts.get').map((f) => f.shard)).toEqual([700]);
    expect(sent(b, 'ts.get').map((f) => f.shard)).toEqual([700]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'fleet-changed', endpoint: 'ws://b', reason: 'not-owner', after: [[700, 1023]] }));
  });

  it('lets a hello override the fleet file, logging the mismatch, and reports a changed hello after reconnect', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    transport.add('ws://a', new FakeNode({ service: 'tso', shards: [[0, 255]] }));
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (o: object, msg?: string) => warnings.push({ ...o, msg }) };
    const early: StatusEvent[] = [];
    const client = await PharaohClient.connect(
      { fleet: { services: { tso: [{ endpoint: 'ws://a', shards: '0-511', http: 'http://a' }] } } },
      { transport, clock, logger, onStatus: (e) => early.push(e) },
    );
    r = { client, transport, clock, nodes: new Map(), events: [] };
    client.on('status', (e) => r!.events.push(e));
    expect(warnings).toContainEqual(expect.objectContaining({ endpoint: 'ws://a', before: [[0, 511]], after: [[0, 255]] }));
    expect(early.map((e) => e.type)).toEqual(['fleet-changed', 'connect']);
    expect(early[0]).toMatchObject({ reason: 'hello', before: [[0, 511]], after: [[0, 255]] });
    // The process comes back hosting other shards: the new hello wins and is reported.
    transport.kill('ws://a');
    await settle();
    transport.up('ws://a', new FakeNode({ service: 'tso', shards: [[0, 1023]] }));
    await clock.advance(1_000);
    expect(r.events.find((e) => e.type === 'fleet-changed')).toMatchObject({ reason: 'hello', before: [[0, 255]], after: [[0, 1023]] });
    expect(TSO_LAYOUT.shardOf(await client.tso.next({ key: keyFor(900) }))).toBe(900);
  });

  it('keeps the older owner when a live endpoint later claims shards another live endpoint hosts', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    const a = new FakeNode({ service: 'tso', shards: [[0, 511]] });
    const b = new FakeNode({ service: 'tso', shards: [[0, 1023]] });
    transport.add('ws://a', a);
    transport.add('ws://b', b);
    transport.kill('ws://b');
    const client = await PharaohClient.connect({ endpoints: ['ws://a', 'ws://b'] }, { transport, clock });
    r = { client, transport, clock, nodes: new Map(), events: [] };
    client.on('status', (e) => r!.events.push(e));
    transport.up('ws://b');
    await clock.advance(1_000);
    expect(r.events.find((e) => e.type === 'fleet-changed')).toMatchObject({ reason: 'conflict', endpoint: 'ws://b', after: [[512, 1023]] });
    await client.tso.next({ key: keyFor(5) });
    await client.tso.next({ key: keyFor(600) });
    expect(sent(a, 'ts.get').map((q) => q.shard)).toEqual([5]);
    expect(sent(b, 'ts.get').map((q) => q.shard)).toEqual([600]);
  });

  it('fails to connect with ConnectError when no endpoint answers', async () => {
    const transport = new FakeTransport();
    const err = await PharaohClient.connect({ endpoints: ['ws://nowhere'] }, { transport, clock: new ManualClock() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toContain('ws://nowhere');
  });
});

describe('reconnect', () => {
  it('backs off exponentially with jitter up to maxMs, then reports the reconnect', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }], { reconnect: { initialMs: 100, maxMs: 1_000, jitter: 0.5 }, random: () => 0.5 });
    r.transport.kill('ws://fake-0');
    await settle();
    const opened = r.transport.opened.length;
    await r.clock.advance(5_000);
    const attempts = r.transport.opened.length - opened;
    expect(attempts).toBeGreaterThanOrEqual(6);
    // random() = 0.5 and jitter 0.5: every delay is 75% of min(maxMs, initialMs * 2^n).
    const delays = r.clock.requested.filter((d) => [75, 150, 300, 600, 750].includes(d));
    expect(delays.slice(0, 6)).toEqual([75, 150, 300, 600, 750, 750]);
    r.transport.up('ws://fake-0');
    await r.clock.advance(1_000);
    expect(r.events.map((e) => e.type)).toEqual(['disconnect', 'reconnect']);
    expect(await r.client.tso.next()).toBeTypeOf('bigint');
  });
});

describe('hello timeout', () => {
  it('gives up on an endpoint that accepts but sends no hello, and connects once it does', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    const mute = new FakeNode({ service: 'tso', shards: [[512, 1023]] });
    mute.silent = true;
    transport.add('ws://a', new FakeNode({ service: 'tso', shards: [[0, 511]] }));
    transport.add('ws://mute', mute);
    const connecting = PharaohClient.connect({ endpoints: ['ws://a', 'ws://mute'] }, { transport, clock, connectTimeoutMs: 500 });
    await clock.advance(600);
    const client = await connecting;
    r = { client, transport, clock, nodes: new Map(), events: [] };
    client.on('status', (e) => r!.events.push(e));
    mute.silent = false;
    await clock.advance(1_000);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'connect', endpoint: 'ws://mute' }));
    expect(TSO_LAYOUT.shardOf(await client.tso.next({ key: keyFor(800) }))).toBe(800);
  });
});

describe('close', () => {
  it('rejects every pending call with ClientClosedError and leaves no timer or socket', async () => {
    r = await rig([
      { service: 'tso', shards: [[0, 1023]] },
      { service: 'txcoord', shards: [[0, 1023]] },
    ]);
    const { client, clock, transport } = r;
    const { txId } = await client.tx.begin();
    r.nodes.get('ws://fake-0')!.intercept = () => 'hang';
    transport.kill('ws://fake-1');
    await settle();
    const iter = client.status();
    const pending = [client.tso.next(), client.tso.range(5), client.tx.commit(txId), client.tx.status(txId)].map((p) => p.catch((e: unknown) => e));
    await settle();
    await client.close();
    const errors = await Promise.all(pending);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ClientClosedError);
      expect((e as ClientClosedError).code).toBe('CLIENT_CLOSED');
    }
    await settle();
    expect(clock.pendingTimers).toBe(0);
    expect(transport.openSockets()).toBe(0);
    await expect(client.tso.next()).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.tx.status(txId)).rejects.toBeInstanceOf(ClientClosedError);
    const rest: StatusEvent[] = [];
    for await (const e of iter) rest.push(e);
    expect(rest.every((e) => e.type === 'disconnect')).toBe(true);
  });

  it('rejects tso calls made in the same turn as close(), before their batch left, with ClientClosedError', async () => {
    r = await rig([{ service: 'tso', shards: [[0, 1023]] }]);
    const node = r.nodes.get('ws://fake-0')!;
    const pending = [r.client.tso.next(), r.client.tso.range(3, { key: 'k' })].map((p) => p.catch((e: unknown) => e));
    await r.client.close();
    for (const e of await Promise.all(pending)) expect(e).toBeInstanceOf(ClientClosedError);
    expect(sent(node, 'ts.get')).toHaveLength(0);
    expect(r.clock.pendingTimers).toBe(0);
  });
});
