import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, ServerError, parseServiceArgs, resolveServerOptions } from '../src/index.js';
import { testService } from './helpers.js';

describe('resolveServerOptions', () => {
  it('fills every default and parses shard ranges', () => {
    const o = resolveServerOptions({ shards: '0-2,9', dataDir: 'data' });
    expect(o.shards).toEqual([[0, 2], [9, 9]]);
    expect(o.shardIds).toEqual([0, 1, 2, 9]);
    expect(o.host).toBe('127.0.0.1');
    expect(o.port).toBe(0);
    expect(o.limits).toEqual(DEFAULT_LIMITS);
    expect(o.dataDir.endsWith('/data')).toBe(true);
  });

  it('refuses bad shards, ports and limits, naming the field', () => {
    const bad = (o: object, re: RegExp): void => {
      expect(() => resolveServerOptions({ shards: '0', dataDir: 'd', ...o } as never)).toThrow(re);
      try {
        resolveServerOptions({ shards: '0', dataDir: 'd', ...o } as never);
      } catch (e) {
        expect(e).toBeInstanceOf(ServerError);
        expect((e as ServerError).code).toBe('BAD_OPTIONS');
      }
    };
    bad({ shards: '0-1024' }, /outside 0..1023/);
    bad({ shards: '5-3' }, /reversed/);
    bad({ shards: [] }, /shards/);
    bad({ port: 70000 }, /port/);
    bad({ limits: { maxInFlight: 0 } }, /limits.maxInFlight/);
    bad({ limits: { maxFrameBytes: 1.5 } }, /limits.maxFrameBytes/);
    bad({ limits: { noSuchLimit: 1 } }, /not a known limit/);
    bad({ dataDir: '' }, /dataDir/);
  });
});

describe('parseServiceArgs', () => {
  const argv = (...flags: string[]): string[] => ['node', 'main.ts', ...flags];

  it('reads flags into server options', () => {
    const { options } = parseServiceArgs(testService() as never, argv('--shards', '0-255,512', '--port', '7100', '--http-port', '7101', '--data', '/tmp/x', '--max-in-flight', '64'));
    expect(options).toMatchObject({ shards: '0-255,512', port: 7100, httpPort: 7101, dataDir: '/tmp/x', limits: { maxInFlight: 64 } });
  });

  it('reads the clock options, the skew an after may come with included', () => {
    const { options } = parseServiceArgs(testService() as never, argv('--window-ms', '2000', '--max-lead-ms', '4000', '--max-clock-skew-ms', '250'));
    expect(options).toMatchObject({ windowMs: 2000, maxLeadMs: 4000, maxClockSkewMs: 250 });
    expect(resolveServerOptions({ ...options, shards: '0', dataDir: '/tmp/x' }).maxClockSkewMs).toBe(250);
    expect(() => resolveServerOptions({ shards: '0', dataDir: '/tmp/x', maxClockSkewMs: -1 })).toThrow(/maxClockSkewMs/);
  });

  it('falls back to PHARAOH_* environment variables, flags winning', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { PHARAOH_SHARDS: '3-4', PHARAOH_PORT: '9000', PHARAOH_HTTP_PORT: '9001', PHARAOH_DATA: '/tmp/envdata', PHARAOH_HOST: '0.0.0.0' });
      const a = parseServiceArgs(testService() as never, argv()).options;
      expect(a).toMatchObject({ shards: '3-4', port: 9000, httpPort: 9001, dataDir: '/tmp/envdata', host: '0.0.0.0' });
      const b = parseServiceArgs(testService() as never, argv('--port', '9100')).options;
      expect(b.port).toBe(9100);
    } finally {
      process.env = saved;
    }
  });

  it('passes an app’s own flags through in options.app', () => {
    const def = { ...testService(), cliOptions: [{ flags: '--default-timeout-ms <ms>', description: 'x', env: 'PHARAOH_DEFAULT_TIMEOUT_MS' }] };
    const { options } = parseServiceArgs(def as never, argv('--default-timeout-ms', '5000'));
    expect(options.app).toEqual({ defaultTimeoutMs: '5000' });
  });

  it('refuses a malformed number', () => {
    expect(() => parseServiceArgs(testService() as never, argv('--port', 'abc'))).toThrow();
  });
});
