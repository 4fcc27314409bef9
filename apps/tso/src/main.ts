/**
 * Run the Timestamp Oracle:
 *   tsx apps/tso/src/main.ts --shards 0-1023 --port 7100 --http-port 7101 --data ./data
 * Flags may also come from PHARAOH_SHARDS, PHARAOH_PORT, ...: the same code as `pharaoh serve tso`.
 */
import { runServiceMain } from '@pharaoh/server';
import { tsoService } from './service.js';

await runServiceMain(tsoService);
