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
  HitPolicy,
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
export { staticRegistryView, keyRecordFor } from './registry-view.ts';
export type { RegistryView } from './registry-view.ts';
