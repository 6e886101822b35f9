export {
  federationSchema,
  agencySchema,
  agencyKeySchema,
  publicJwkSchema,
  contactSchema,
  subscriptionRuleSchema,
  jurisdictionGroupDefinitionSchema,
  agreementSchema,
  agreementRecipients,
  AgencyKind,
  KEY_ID_PATTERN,
  PRIVATE_JWK_MEMBERS,
} from './schema.ts';
export type {
  Federation,
  FederationInput,
  Agency,
  AgencyKey,
  PublicJwk,
  Contact,
  SubscriptionRule,
  JurisdictionGroup,
  Agreement,
} from './schema.ts';
export { checkFederation } from './check.ts';
export { toProblems } from './problems.ts';
export type { FederationProblem } from './problems.ts';
export {
  loadFederation,
  parseFederation,
  parseAgency,
  parseSubscriptionRules,
  DEFAULT_FEDERATION_MAX_BYTES,
} from './load.ts';
export type { LoadFederationOptions } from './load.ts';
export { generateFederationJsonSchema, FEDERATION_JSON_SCHEMA_ID } from './json-schema.ts';
export { DEMO_FEDERATION_PATH } from './demo.ts';
export {
  Streams,
  StreamSubjects,
  HubServices,
  QueueGroups,
  REGISTRY_BUCKET,
  REGISTRY_STREAM,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  ROUTER_CONSUMER,
  INGEST_WILDCARD,
  AUDIT_REQUEST_WILDCARD,
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  ingestSubject,
  agencyOfIngestSubject,
  alertsSubjectFilter,
  alertsConsumer,
  alertsConsumerConfig,
  agencyInboxPrefix,
  hubInboxPrefix,
  auditRequestSubject,
  isImportedReplySubject,
  HUB_API_PREFIX,
  RESPONSE_PREFIX,
  hubApiSubject,
  importedApiSubject,
  ackSubjects,
} from './subjects.ts';
export type { Stream, HubService } from './subjects.ts';
export {
  Roles,
  agencyPermissions,
  servicePermissions,
  operatorPermissions,
  hubPermissions,
  adminPermissions,
  systemPermissions,
} from './permissions.ts';
export type { Role, Permissions } from './permissions.ts';
export {
  AccountNames,
  agencyAccountName,
  hubExports,
  agencyImports,
  operatorImports,
  attestedAccount,
  REQUEST_INFO_HEADER,
} from './accounts.ts';
export type { ServiceExport, ServiceImport, ResponseType } from './accounts.ts';
export {
  subjectsIntersect,
  subjectCovers,
  findIsolationBreaches,
  findOperatorBreaches,
  assertAgencyIsolation,
} from './isolation.ts';
export type { IsolationBreach } from './isolation.ts';
export {
  createIdentities,
  withAgencies,
  reissueUserJwts,
  usersOf,
  accountDirectory,
} from './identities.ts';
export type {
  IdentitySet,
  NatsIdentity,
  PublicIdentity,
  KeySeed,
  AccountKeySet,
} from './identities.ts';
export { brokerAuthConfig, accountJwts, agencyAccountJwt } from './auth-config.ts';
export type { BrokerAuthOptions } from './auth-config.ts';
export {
  contextFile,
  parseContextFile,
  readContextFile,
  contextConnectOptions,
  contextSchema,
} from './context.ts';
export type { NatsContext, ContextConnectOptions } from './context.ts';
export { seedRegistry, readRegistry, registryKeysByDirectGet, RegistryKeys } from './registry.ts';
export type { RegistryKv, DirectLastReader, ReadRegistryOptions } from './registry.ts';
export { staticRegistryView, keyRecordFor } from './registry-view.ts';
export { syncPublicKeys, publicKeyEntry, parsePublicKeyRecord } from './public-keys.ts';
export type { PublicKeysKv } from './public-keys.ts';
export type { RegistryView } from './registry-view.ts';
export { watchRegistry } from './registry-watch.ts';
export type {
  LiveRegistryView,
  WatchRegistryOptions,
  WatchableRegistryKv,
} from './registry-watch.ts';
export { ensureStreams, streamConfigs } from './streams.ts';
export type { HubStreamConfig } from './streams.ts';
export {
  reportSubject,
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
