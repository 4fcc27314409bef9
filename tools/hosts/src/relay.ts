/**
 * A slow network, made by hand (`tc netem` is not available here): a TCP relay
 * in a client host that forwards each listen address to a server address and
 * holds every chunk of bytes, in both directions, for `delayMs` before passing
 * it on (order kept). The client host's hosts file points the pod names at the
 * relay's loopback addresses, so TLS still checks the pod names end to end.
 *
 * argv[2]: JSON `{ routes: [{ listen: "127.0.1.10:7100", target: "10.77.0.10:7100" }], delayMs }`.
 * stdin: `delay <ms>` changes the delay (for chunks that arrive from then on).
 * stdout: `{"e":"ready"}` once listening, `{"e":"conn","t":…}` per accepted connection.
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

interface Route {
  listen: string;
  target: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as { routes: Route[]; delayMs: number };
let delayMs = cfg.delayMs;
const now = (): number => performance.timeOrigin + performance.now();
const split = (a: string): [string, number] => {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
};

/** Forward `from` → `to`, each chunk `delayMs` after it arrived and never before the chunk ahead of it. */
function pipeDelayed(from: Socket, to: Socket): void {
  let last = 0;
  from.on('data', (chunk: Buffer) => {
    const at = Math.max(now() + delayMs, last);
    last = at;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, at - now());
  });
  // An end or a reset travels with the same delay as the bytes before it.
  const close = (): void => {
    const at = Math.max(now() + delayMs, last);
    setTimeout(() => to.destroy(), at - now());
  };
  from.on('end', close);
  from.on('error', close);
  from.on('close', close);
}

let listening = 0;
for (const r of cfg.routes) {
  const [host, port] = split(r.listen);
  const [thost, tport] = split(r.target);
  const server = createServer((down) => {
    process.stdout.write(`${JSON.stringify({ e: 'conn', t: now(), listen: r.listen })}\n`);
    const up = connect({ host: thost, port: tport });
    pipeDelayed(down, up);
    pipeDelayed(up, down);
  });
  server.listen(port, host, () => {
    if (++listening === cfg.routes.length) process.stdout.write(`${JSON.stringify({ e: 'ready' })}\n`);
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^delay (\d+)$/.exec(line.trim());
  if (m) delayMs = Number(m[1]);
});
process.stdin.on('end', () => process.exit(0));
