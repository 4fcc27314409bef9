// A flooding peer for fairness.test.ts, run as its own process (plain Node, no tsx):
// keeps `window` copies of one pre-encoded request in flight on one connection, a new
// one for each answer, and prints how many answers it got every 25 ms.
// argv: <ws url> <request frame as hex> <window>
import { WebSocket } from 'ws';

const [url, hex, windowArg] = process.argv.slice(2);
const frame = Buffer.from(hex, 'hex');
const window = Number(windowArg);
const ws = new WebSocket(url, { perMessageDeflate: false });
let answered = 0;
let greeted = false;
ws.on('message', () => {
  if (!greeted) {
    greeted = true;
    for (let i = 0; i < window; i++) ws.send(frame);
    return;
  }
  answered++;
  ws.send(frame);
});
setInterval(() => process.stdout.write(`answered ${answered}\n`), 25);
ws.on('close', () => process.exit(0));
ws.on('error', () => process.exit(1));
