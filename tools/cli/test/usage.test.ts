/**
 * Usage mistakes and help, run as the real command (one child process each):
 * every mistake gets its own message, help names the command as typed and
 * shows the defaults the code uses.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS } from '@pharaoh/client';
import { PROTOCOL_VERSION } from '@pharaoh/protocol';
import { REGISTRY } from '@pharaoh/registry';
import { buildCommand } from '@pharaoh/server';
import { tsoService } from '@pharaoh/tso';
import { txcoordService } from '@pharaoh/txcoord';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_CHAOS_OPTIONS } from '../src/chaos/run.js';
import { DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from '../src/fleet/supervisor.js';
import { k8sFleetFile } from '../src/k8s-fleet.js';
import { SERVE_FLAG_DEFAULTS, serveHelp, wantsHelp } from '../src/serve-help.js';
import { runCli } from './helpers.js';

describe('pharaoh --version and help', () => {
  it('prints its version, the wire protocol and Node', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`pharaoh ${pkg.version} (wire protocol v${PROTOCOL_VERSION}, Node ${process.version})`);
    }
  });

  it('answers `serve --help` with the shared server flags instead of calling --help a service', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('unknown service');
    expect(r.stdout).toContain(`Usage: pharaoh serve <${REGISTRY.names.join('|')}> [options]`);
    expect(r.stdout).toContain('--shards <ranges>');
    expect(r.stdout).toContain('pharaoh serve txcoord --help');
  });

  it('names `serve tso --help` as typed, with every default', async () => {
    const r = await runCli(['serve', 'tso', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: pharaoh serve tso [options]');
    expect(r.stdout).not.toContain('pharaoh-tso');
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const [name, value] of Object.entries(SERVE_FLAG_DEFAULTS)) {
      const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      expect(flat, flag).toMatch(new RegExp(`${flag} <\\w+> (?:(?! --).)*default:? ${value}\\b`));
    }
  });

  it('shows an app flag of txcoord with its default, and refuses an unknown service by name', async () => {
    expect(serveHelp(txcoordService as never)).toContain('--default-timeout-ms <ms>');
    const r = await runCli(['serve', 'tsoo']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pharaoh: unknown service "tsoo": expected one of ${REGISTRY.names.join(', ')}`);
  });

  it('refuses an unknown or bad server flag before starting, in the CLI\'s words', async () => {
    const r = await runCli(['serve', 'tso', '--bogus']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("pharaoh: unknown option '--bogus'\n(pharaoh serve tso --help lists the flags and their defaults)\n");
    const port = await runCli(['serve', 'tso', '--port', '-1']);
    expect(port.stderr).toMatch(/^pharaoh: option '--port <port>' argument '-1' is invalid/);
  });

  it('fills help defaults only for display: the server parses the same flags as before', () => {
    const parsing = buildCommand(tsoService as never);
    expect(parsing.options.find((o) => o.long === '--window-ms')?.defaultValue).toBeUndefined();
    expect(wantsHelp(['--port', '1', '-h'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });

  it('shows the defaults the commands use', async () => {
    const ts = (await runCli(['ts', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(ts).toContain(`(default: ${DEFAULT_TIMEOUT_MS})`);
    expect(ts).toContain('how many timestamps (default: 1)');
    const up = (await runCli(['fleet', 'up', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(up).toContain(`(default: ${DEFAULT_START_TIMEOUT_MS})`);
    expect(up).toContain(`(default: ${DEFAULT_STOP_GRACE_MS})`);
    const chaos = (await runCli(['chaos', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(chaos).toContain(`(default: ${DEFAULT_CHAOS_OPTIONS.workers}, a soak 4)`);
    expect(chaos).toContain(`(default: ${DEFAULT_CHAOS_OPTIONS.procsPerService}, a soak 3)`);
    expect(chaos).toContain(`(default: ${DEFAULT_CHAOS_OPTIONS.durationMs / 1000};`);
  });
});

describe('usage mistakes', () => {
  it('gives --count 0 and --count -1 the same message, one line plus a pointer to --help', async () => {
    const [zero, minus] = await Promise.all([runCli(['ts', '--count', '0']), runCli(['ts', '--count', '-1'])]);
    for (const [r, v] of [[zero, '0'], [minus, '-1']] as const) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`pharaoh: option '--count <n>' argument '${v}' is invalid. Expected an integer in 1..1000000.\n(add --help for usage)\n`);
    }
  });

  it('refuses a bad endpoint URL and a bad ID before connecting', async () => {
    const url = await runCli(['ts', '--endpoint', 'http://127.0.0.1:7101']);
    expect(url.code).toBe(1);
    expect(url.stderr.trim()).toBe('pharaoh: --endpoint http://127.0.0.1:7101 is not a ws:// or wss:// URL (e.g. ws://127.0.0.1:7100)');
    const id = await runCli(['tx', 'status', 'abc']);
    expect(id.stderr).toMatch(/^pharaoh: txId "abc" is not an unsigned 64-bit integer/);
  });

  it('decodes a hex ID with --layout as one block', async () => {
    const r = await runCli(['decode', '0x06fba5ba150ea000', '--layout', 'tso']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['id', 'layout', 'bits', 'date', 'time', 'shard', 'seq', '']);
    expect(r.stdout).toContain('id      503178002017722368 (0x06fba5ba150ea000)');
    expect((await runCli(['decode', '1', '--layout', 'uuid'])).stderr.trim()).toBe(
      `pharaoh: unknown layout "uuid": expected one of ${[...new Set(REGISTRY.services.flatMap((s) => [s.layout.name, s.name]))].join(', ')}`,
    );
  });
});

describe('pharaoh fleet k8s', () => {
  const shardsPerPod = { tso: 512, txcoord: 1024, 'session-mgr': 1024 };
  it('emits wss:// endpoints and https:// health URLs with --tls, http:// with --http-plain', () => {
    const tls = k8sFleetFile({ namespace: 'p', domain: 'cluster.local', shardsPerPod, tls: true });
    expect(tls.services.tso![1]).toEqual({ endpoint: 'wss://tso-1.tso.p.svc.cluster.local:7100', http: 'https://tso-1.tso.p.svc.cluster.local:7101', shards: '512-1023' });
    const plainHttp = k8sFleetFile({ namespace: 'p', domain: 'cluster.local', shardsPerPod, tls: true, httpPlain: true });
    expect(plainHttp.services.txcoord![0]).toMatchObject({ endpoint: 'wss://txcoord-0.txcoord.p.svc.cluster.local:7200', http: 'http://txcoord-0.txcoord.p.svc.cluster.local:7201' });
    expect(k8sFleetFile({ namespace: 'p', domain: 'cluster.local', shardsPerPod }).services['session-mgr']![0]!.endpoint).toMatch(/^ws:\/\//);
  });

  it('refuses --http-plain without --tls', async () => {
    const r = await runCli(['fleet', 'k8s', '--http-plain']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('pharaoh: --http-plain only applies with --tls (without TLS every URL is plain already)');
  });
});
