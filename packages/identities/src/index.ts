export {
  Roles,
  agencyPermissions,
  servicePermissions,
  operatorPermissions,
  hubPermissions,
  gatewayPermissions,
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
  hubStreamExports,
  agencyStreamImports,
} from './accounts.ts';
export type {
  ServiceExport,
  ServiceImport,
  StreamExport,
  StreamImport,
  ResponseType,
} from './accounts.ts';
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
  newServiceIdentity,
  withAgencies,
  gatewayServiceIdentity,
  gatewayAgencyIdentity,
  reissueUserJwts,
  issueUserJwt,
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
export { leafNodeConfig, leafCredentials, leafDomain } from './leafnode.ts';
export type { LeafNodeConfigOptions } from './leafnode.ts';
