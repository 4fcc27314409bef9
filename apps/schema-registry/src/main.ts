/**
 * Entry point: `tsx apps/schema-registry/src/main.ts --shards 0-1023 --port 7500 --http-port 7501 --data ./data`
 * plus schema-registry's own flags (see README): the same code as `pharaoh serve schema-registry`.
 */
import { runServiceMain } from '@pharaoh/server';
import { schemaService } from './service.js';

await runServiceMain(schemaService);
