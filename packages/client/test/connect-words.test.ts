import { describe, expect, it } from 'vitest';
import { ConnectError, PharaohClient, type StatusEvent } from '../src/index.js';
import { FakeNode } from './fake-node.js';
import { FakeTransport, ManualClock, settle } from './fakes.js';

describe('what a failed connection is called', () => {
  it('says "cannot connect to" for a socket that closed before its hello, never "lost"', async () => {
    const transport = new FakeTransport();
    const err = await PharaohClient.connect({ endpoints: ['ws://nowhere'] }, { transport, clock: new ManualClock() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toContain('cannot connect to ws://nowhere: connect ECONNREFUSED');
    expect((err as Error).message).not.toMatch(/lost/);
  });

  it('says "lost" for a connection that had said hello and then dropped', async () => {
    const transport = new FakeTransport();
    const clock = new ManualClock();
    transport.add('ws://a', new FakeNode({ service: 'tso', shards: [[0, 1023]] }));
    const events: StatusEvent[] = [];
    const client = await PharaohClient.connect({ endpoints: ['ws://a'] }, { transport, clock, onStatus: (e) => events.push(e) });
    try {
      transport.kill('ws://a');
      await settle();
      const down = events.find((e) => e.type === 'disconnect');
      expect(down).toMatchObject({ endpoint: 'ws://a', error: 'connection to ws://a lost: connection reset' });
    } finally {
      await client.close();
    }
  });
});
