/** Entry point, as every app's: `tsx tools/cli/test/example/main.ts --shards 0-511 --port 0 --data <dir>`. */
import { runServiceMain } from '@pharaoh/server';
import { exampleService } from './service.js';

await runServiceMain(exampleService);
