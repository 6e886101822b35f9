export { startAuditor } from './auditor.ts';
export type { Auditor, AuditorOptions } from './auditor.ts';
export { auditClient } from './client.ts';
export type { AuditClient, AuditReply, AuditRequest } from './client.ts';
export { readAuditCheckpoints, readSequences, readStream, TREE_SIZE_HEADER } from './read.ts';
export type { SequenceRead, StoredCheckpoint } from './read.ts';
export { auditCheckpointsStreamConfig, ensureAuditStreams } from './streams.ts';
