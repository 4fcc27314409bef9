/** @pharaoh/txcoord: the Transaction Coordinator (presumed-abort, journaled decisions). */
export { txcoordService } from './service.js';
export type { TxcoordShard } from './service.js';
export { TxTable } from './tx-table.js';
export type { TxIdSource, TxLayout, TxJournal, TxJournalHooks, TxTableDeps } from './tx-table.js';
export { DEFAULT_TX_TIMEOUT_MS, DEFAULT_TX_RETENTION_MS, DEFAULT_MAX_OPEN_TX, DEFAULT_MAX_REMEMBERED_TX, TXCOORD_OPTIONS, parseTxcoordOptions } from './options.js';
export type { TxTableOptions, TxcoordOptions } from './options.js';
export { parseTxRecord } from './records.js';
export type { TxRecord, CommitRecord, AbortRecord, ForgetRecord, CarryRecord } from './records.js';
export { CARRY_CHUNK } from './records.js';
/** The journal options every journaled service shares (the kit's defaults). */
export { DEFAULT_SWEEP_INTERVAL_MS, DEFAULT_COMPACT_AT_BYTES } from '@pharaoh/server';
