export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash } from './hash.ts';
export { MerkleLog, merkleRoot } from './merkle-log.ts';
export { verifyInclusion } from './verify-inclusion.ts';
export type { InclusionClaim } from './verify-inclusion.ts';
export { verifyConsistency } from './verify-consistency.ts';
export type { ConsistencyClaim } from './verify-consistency.ts';
export { canonicalJson } from './canonical-json.ts';
export {
  ACTOR_KINDS,
  AUDIT_ACTIONS,
  SHA256_HEX_PATTERN,
  auditEntrySchema,
} from './entry-schema.ts';
export type { ActorKind, AuditAction, AuditEntry } from './entry-schema.ts';
export { encodeEntry, prevHash } from './encode-entry.ts';
export { MAX_ENTRY_BYTES, decodeEntry } from './decode-entry.ts';
export { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
export type { Checkpoint, ParsedCheckpoint } from './checkpoint.ts';
export { noteKeyId } from './note.ts';
export type { NoteSignature } from './note.ts';
export { signCheckpoint } from './sign-checkpoint.ts';
export { verifyCheckpoint } from './verify-checkpoint.ts';
export type { VerifyCheckpointOptions } from './verify-checkpoint.ts';
export { generateHubKey, hubJwks, hubKeysFromJwks } from './hub-key.ts';
export type {
  HubJwks,
  HubKey,
  HubPrivateJwk,
  HubPublicJwk,
  HubPublicKey,
  HubSigningKey,
} from './hub-key.ts';
export { verifyAuditLog } from './verify-log.ts';
export type {
  AuditLogItem,
  AuditProblem,
  AuditProgress,
  AuditVerification,
  VerifyAuditLogOptions,
} from './verify-log.ts';
export {
  exportFormat,
  formatExportLine,
  parseExportLine,
  readAuditExport,
  writeAuditExport,
} from './export-format.ts';
export type { AuditExport, AuditExportInput, AuditExportRecord } from './export-format.ts';
export { auditFailureError, isCheckpointProblem } from './audit-failure.ts';
export { auditCoverage } from './coverage.ts';
export type { AuditCoverage } from './coverage.ts';
export { checkProofFile, parseProofFile, proofFileSchema, proveInclusion } from './proof-file.ts';
export type { ProofFile } from './proof-file.ts';
