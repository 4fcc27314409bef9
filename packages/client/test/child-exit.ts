/** Child process for the "exits by itself after close()" test: connect, call, close, and fall off the end. */
import { PharaohClient } from '../src/index.js';

const client = await PharaohClient.connect({ endpoints: process.argv.slice(2) }, { timeoutMs: 20_000 });
const id = await client.tso.next();
// One call stays pending at close (its endpoint never answers shard 1023): close() must still let us exit.
const pending = client.tso.next({ key: process.env.HANG_KEY ?? 'x' }).catch((e: Error) => e.name);
await client.close();
process.stdout.write(`${id} ${await pending} ${Date.now()}\n`);
