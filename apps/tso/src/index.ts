export { tsoService } from './service.js';
