export { connectOperator, parseTime } from './session.ts';
export type {
  OperatorAudit,
  OperatorSession,
  RegistryAgreement,
  RegistryChange,
} from './session.ts';
export { waitForAgency, waitForAgencyGone } from './agency-ready.ts';
export {
  checkAuditCoverage,
  proveAuditEntry,
  readAuditEntries,
  unreadableReports,
  notReturned,
  readLiveCheckpoints,
} from './audit.ts';
export type { AuditCheckpoints, AuditCoverageSummary } from './audit.ts';
export { replaySelects, resolveReplayRange } from './replay.ts';
export type { ReplayBounds, ReplayRange, ReplaySelection } from './replay.ts';
export { issueGatewayToken, revokeGatewayToken, listGatewayTokens } from './tokens.ts';
export type { GatewayTokenInfo } from './tokens.ts';
