export {
  Streams,
  StreamSubjects,
  HubServices,
  QueueGroups,
  REGISTRY_BUCKET,
  REGISTRY_STREAM,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  GATEWAY_TOKENS_BUCKET,
  GATEWAY_TOKENS_STREAM,
  ROUTER_CONSUMER,
  INGEST_WILDCARD,
  AUDIT_REQUEST_WILDCARD,
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  ingestSubject,
  agencyOfIngestSubject,
  selectorEvaluateSubject,
  agencyOfSelectorEvaluateSubject,
  SELECTOR_EVALUATE_WILDCARD,
  holdingsSubject,
  agencyOfHoldingsSubject,
  HOLDINGS_WILDCARD,
  HOLDINGS_BUCKET,
  HOLDINGS_STREAM,
  HUB_SELECTOR_EVALUATE_SUBJECT,
  SELECTOR_INDEX_STREAM,
  SELECTOR_INDEX_SUBJECTS,
  selectorIndexSubject,
  alertsSubjectFilter,
  alertsConsumer,
  alertsConsumerConfig,
  leafAlertsConsumer,
  leafCheckConsumer,
  leafDeliverSubject,
  LEAF_DELIVER_WILDCARD,
  flowControlSubjects,
  leafAlertsConsumerConfig,
  leafCheckConsumerConfig,
  agencyInboxPrefix,
  hubInboxPrefix,
  auditRequestSubject,
  isImportedReplySubject,
  HUB_API_PREFIX,
  RESPONSE_PREFIX,
  hubApiSubject,
  importedApiSubject,
  ackSubjects,
  SERVICE_API_PREFIX,
  serviceApiName,
} from './subjects.ts';
export type { Stream, HubService } from './subjects.ts';
export { attestedAccount, REQUEST_INFO_HEADER } from './attestation.ts';
export { ensureStreams, streamConfigs } from './streams.ts';
export type { HubStreamConfig } from './streams.ts';
export { auditCheckpointsStreamConfig, ensureAuditStreams } from './audit-streams.ts';
export {
  reportSubject,
  parseReportSubject,
  parseRejectionSubject,
  reportLookupSubject,
  rejectionSubject,
  ReportHeaders,
  parseIngestReply,
} from './ingest-protocol.ts';
export type { IngestReply, IngestAccepted, IngestRejected } from './ingest-protocol.ts';
export {
  AlertKind,
  AlertHeaders,
  alertSubject,
  alertMsgId,
  alertKindOf,
  alertRefersTo,
  parseAlertSubject,
  deliveredSubjectFilter,
} from './alert-protocol.ts';
export { auditClient, AUDIT_SENDERS, isAuditSender } from './audit-client.ts';
export type {
  AuditClient,
  AuditReply,
  AuditRequest,
  AuditRequestOf,
  AuditSender,
} from './audit-client.ts';
export {
  directBatch,
  readAuditCheckpoints,
  readSequences,
  readStream,
  isNoMessage,
  TREE_SIZE_HEADER,
} from './read.ts';
export type {
  DirectBatchRequest,
  ReadSequencesOptions,
  SequenceRead,
  StoredCheckpoint,
} from './read.ts';
export { seedRegistry, readRegistry, registryKeysByDirectGet, RegistryKeys } from './registry.ts';
export type { RegistryKv, ReadRegistryOptions } from './registry.ts';
export { watchRegistry } from './registry-watch.ts';
export type {
  LiveRegistryView,
  WatchRegistryOptions,
  WatchableRegistryKv,
} from './registry-watch.ts';
export { syncPublicKeys, publicKeyEntry, parsePublicKeyRecord } from './public-keys.ts';
export type { PublicKeysKv } from './public-keys.ts';
export {
  selectorRequestSchema,
  selectorReplySchema,
  askKeyService,
  keyServiceKey,
  evaluateAtKeyService,
} from './selector-protocol.ts';
export type { SelectorRequest, SelectorReply, SelectorEvaluation } from './selector-protocol.ts';
export {
  MAX_HOLDINGS_BATCH,
  HIT_ALERT_KIND,
  holdingsRequestSchema,
  holdingsReplySchema,
  holdingRecordSchema,
  holdingReferenceSchema,
  hitAlertSchema,
  holdingKey,
  parseHoldingKey,
  hitAlertSubject,
  hitAlertMsgId,
} from './holdings-protocol.ts';
export type {
  HoldingsRequest,
  HoldingsReply,
  HoldingRecord,
  CheckResult,
  HitAlert,
} from './holdings-protocol.ts';
export {
  gatewayTokenRecordSchema,
  tokenIdSchema,
  newGatewayToken,
  parseGatewayToken,
  tokenHash,
  tokenMatches,
} from './gateway-tokens.ts';
export type { GatewayTokenRecord } from './gateway-tokens.ts';
export {
  selectorIndexEntrySchema,
  selectorIndexStreamConfig,
  ensureSelectorIndexStream,
  appendIndexEntries,
  readIndexEntries,
  relatedReportSchema,
  relatedHeaderSchema,
  MAX_INDEX_ENTRIES_PER_TOKEN,
  MAX_RELATED,
} from './selector-index.ts';
export type { SelectorIndexEntry, RelatedReport } from './selector-index.ts';
export { multiplexRequests } from './request-mux.ts';
