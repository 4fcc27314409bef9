/**
 * Entry point: `tsx apps/sequencer/src/main.ts --shards 0-1023 --port 7600 --http-port 7601 --data ./data`
 * plus the sequencer's own flags (see README): the same code as `pharaoh serve sequencer`.
 */
import { runServiceMain } from '@pharaoh/server';
import { sequencerService } from './service.js';

await runServiceMain(sequencerService);
