/**
 * The hosts: one Linux network namespace per host, each with one veth into a
 * bridge of ours and one address in 10.77.0.0/24, and a hosts file that
 * `ip netns exec` bind-mounts over /etc/hosts for every process started in it
 * (the way a headless Service's DNS name resolves to a pod's address).
 *
 * Everything created here is named with PREFIX, so a run can remove what a
 * crashed run left behind, and nothing here touches an interface, namespace or
 * address it did not create. The bridge itself has no address: the machine's
 * own namespace cannot reach the hosts, and the hosts have no default route,
 * so no packet of theirs can leave the bridge.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Names of every namespace, link and /etc/netns directory this tool makes start with this. */
export const PREFIX = 'phh';
export const BRIDGE = `${PREFIX}-br`;
export const SUBNET = '10.77.0';
const NETNS_ETC = '/etc/netns';

export interface Host {
  /** Short name, e.g. `s0` (server host 0) or `c1` (client host 1). */
  name: string;
  /** Namespace name, `phh-<name>`. */
  ns: string;
  /** Address on the bridge. */
  ip: string;
  /** The veth end on the bridge (in the machine's namespace); down = the host is off the network. */
  veth: string;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIp(args: string[]): string | undefined {
  try {
    return ip(args);
  } catch (err) {
    return (err as { stderr?: string }).stderr ?? (err as Error).message;
  }
}

/** Why this machine cannot run the hosts (not root, no `ip netns`), or undefined. */
export function unavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    ip(['-V']);
  } catch {
    return 'the `ip` command (iproute2) is missing';
  }
  const probe = `${PREFIX}-probe`;
  const failed = tryIp(['netns', 'add', probe]);
  tryIp(['netns', 'del', probe]);
  if (failed !== '' && failed !== undefined) return `\`ip netns add\` failed: ${failed.trim()}`;
  return undefined;
}

/** Remove whatever carries our prefix: namespaces (their veth ends go with them), links, /etc/netns entries. Returns what failed. */
export function removeLeftovers(): string[] {
  const problems: string[] = [];
  for (const line of (tryIp(['netns', 'list']) ?? '').split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    if (!ns.startsWith(`${PREFIX}-`)) continue;
    // A run that was SIGKILLed leaves its servers running in its namespaces: end them by pid
    // (only processes inside a namespace of ours, which only this tool starts).
    for (const pid of (tryIp(['netns', 'pids', ns]) ?? '').split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    const err = tryIp(['netns', 'del', ns]);
    if (err) problems.push(`ip netns del ${ns}: ${err.trim()}`);
  }
  for (const line of (tryIp(['-o', 'link', 'show']) ?? '').split('\n')) {
    const m = /^\d+: ([^:@]+)[@:]/.exec(line);
    const name = m?.[1];
    if (name === undefined || !name.startsWith(`${PREFIX}-`)) continue;
    const err = tryIp(['link', 'del', name]);
    // A veth whose namespace was just deleted may still be listed, then vanish by itself.
    if (err && !/Cannot find device/.test(err)) problems.push(`ip link del ${name}: ${err.trim()}`);
  }
  if (existsSync(NETNS_ETC)) {
    for (const d of readdirSync(NETNS_ETC)) {
      if (d.startsWith(`${PREFIX}-`)) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
    }
    // Only if it is empty: another tool's namespaces may keep files there.
    if (readdirSync(NETNS_ETC).length === 0) rmdirSync(NETNS_ETC);
  }
  return problems;
}

/** The bridge and the hosts on it. */
export class Network {
  readonly hosts = new Map<string, Host>();
  private bridgeUp = false;

  /** Make the bridge (after removing leftovers of an earlier run). */
  create(): void {
    const left = removeLeftovers();
    if (left.length > 0) throw new Error(`leftovers of an earlier run could not be removed: ${left.join('; ')}`);
    ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    this.bridgeUp = true;
    ip(['link', 'set', BRIDGE, 'up']);
  }

  /** A new host `name` at `10.77.0.<octet>`, with loopback up and an empty hosts file. */
  addHost(name: string, octet: number): Host {
    const host: Host = { name, ns: `${PREFIX}-${name}`, ip: `${SUBNET}.${octet}`, veth: `${PREFIX}-${name}` };
    ip(['netns', 'add', host.ns]);
    this.hosts.set(name, host);
    ip(['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
    ip(['link', 'set', host.veth, 'master', BRIDGE, 'up']);
    ip(['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
    ip(['-n', host.ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', host.ns, 'link', 'set', 'lo', 'up']);
    const etc = join(NETNS_ETC, host.ns);
    mkdirSync(etc, { recursive: true });
    // Names come only from the hosts file; a DNS lookup (a name we forgot) goes to a port nobody listens on.
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    this.setHostsFile(host, new Map());
    return host;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no host ${name}`);
    return h;
  }

  /**
   * Rewrite `host`'s /etc/hosts in place (same inode: `ip netns exec` bind-mounted
   * the file into every process of the host, so they see the change at their next lookup).
   */
  setHostsFile(host: Host, names: ReadonlyMap<string, string>): void {
    const lines = ['127.0.0.1 localhost', ...[...names].map(([name, addr]) => `${addr} ${name}`)];
    writeFileSync(join(NETNS_ETC, host.ns, 'hosts'), `${lines.join('\n')}\n`);
  }

  /** Take `host` off the network (its veth end on the bridge down), or put it back. */
  setLink(host: Host, up: boolean): void {
    ip(['link', 'set', host.veth, up ? 'up' : 'down']);
  }

  /**
   * Drop, inside `host`, every packet it sends to `to` (a blackhole route), or
   * stop doing so. Established TCP connections just go silent: no reset.
   */
  setBlackhole(host: Host, to: Host, on: boolean): void {
    ip(['-n', host.ns, 'route', on ? 'add' : 'del', 'blackhole', `${to.ip}/32`]);
  }

  /** Cut `a` and `b` apart in both directions (or heal). */
  partition(a: Host, b: Host, on: boolean): void {
    this.setBlackhole(a, b, on);
    this.setBlackhole(b, a, on);
  }

  /** Remove the hosts and the bridge. Returns what could not be removed. */
  destroy(): string[] {
    const problems: string[] = [];
    for (const h of this.hosts.values()) {
      const err = tryIp(['netns', 'del', h.ns]);
      if (err) problems.push(`ip netns del ${h.ns}: ${err.trim()}`);
    }
    this.hosts.clear();
    if (this.bridgeUp) {
      const err = tryIp(['link', 'del', BRIDGE]);
      if (err) problems.push(`ip link del ${BRIDGE}: ${err.trim()}`);
      this.bridgeUp = false;
    }
    problems.push(...removeLeftovers());
    return problems;
  }
}
